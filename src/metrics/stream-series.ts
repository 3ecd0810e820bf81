import { EXCEPTION_NAMES } from '../tencent/codes.js';

export type EvictionReason = 'ended' | 'idle' | 'overflow';

export interface StreamSeriesOptions {
  /** Cap on tracked streams; beyond it a new stream gets no series (`overflow`). */
  readonly maxTracked: number;
  /** An ended stream's series stay this long (its `stream_up` shows 0 meanwhile). */
  readonly graceMs: number;
  /** A stream with no live session and no news for this long loses its series. */
  readonly idleMs: number;
  readonly onEvict: (reason: EvictionReason, count: number) => void;
  /** Whether the stream has a live session: a stream refused by the cap earlier is live when re-admitted. */
  readonly isLive?: (key: string) => boolean;
}

/** One tracked stream: its label string is escaped once and reused by every scrape. */
interface Tracked {
  readonly labels: string;
  live: boolean;
  endedAt: number;
  lastSeenAt: number;
  /** Push exceptions by EXCEPTION_NAMES index; allocated on the first report. */
  counts: Float64Array | undefined;
}

const UP = 'tencent_live_stream_up';
const EXCEPTIONS = 'tencent_live_push_exceptions_total';
const HEADER_UP = `# HELP ${UP} 1 while a push session of the stream is live, 0 during the grace period after it ended.\n# TYPE ${UP} gauge\n`;
const HEADER_EXCEPTIONS = `# HELP ${EXCEPTIONS} Push exceptions reported by Tencent (sum of abnormal_event count), per stream and kind.\n# TYPE ${EXCEPTIONS} counter\n`;
const EXCEPTION_SUFFIX = EXCEPTION_NAMES.map((name) => `,exception="${name}"} `);
/** Streams rendered per chunk; the renderer yields to the event loop between chunks. */
const CHUNK = 2000;

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function streamLabels(domain: string, appName: string, streamId: string): string {
  return `domain="${escapeLabel(domain)}",app_name="${escapeLabel(appName)}",stream_id="${escapeLabel(streamId)}"`;
}

/**
 * The per-stream families `tencent_live_stream_up` and `tencent_live_push_exceptions_total`, kept out of
 * prom-client: 100 000 streams × several kinds is ~400 000 series, which prom-client's generic rendering
 * cannot serve within a scrape budget without blocking the event loop. Entries are compact, their label
 * strings cached, and rendering yields between chunks. Series are bounded: removed a grace period after
 * their stream ended, dropped when idle, and capped.
 */
export class StreamSeries {
  private readonly streams = new Map<string, Tracked>();

  constructor(private readonly options: StreamSeriesOptions) {}

  get size(): number {
    return this.streams.size;
  }

  get limit(): number {
    return this.options.maxTracked;
  }

  private track(key: string, domain: string, appName: string, streamId: string, nowMs: number) {
    let entry = this.streams.get(key);
    if (entry) return entry;
    if (this.streams.size >= this.options.maxTracked) {
      this.options.onEvict('overflow', 1);
      return undefined;
    }
    entry = {
      labels: streamLabels(domain, appName, streamId),
      live: this.options.isLive?.(key) ?? false,
      endedAt: 0,
      lastSeenAt: nowMs,
      counts: undefined,
    };
    this.streams.set(key, entry);
    return entry;
  }

  /** A push session of the stream is live. */
  live(key: string, domain: string, appName: string, streamId: string, nowMs: number): void {
    const entry = this.track(key, domain, appName, streamId, nowMs);
    if (!entry) return;
    entry.live = true;
    entry.endedAt = 0;
    entry.lastSeenAt = nowMs;
  }

  /** The stream's session ended: its series go after the grace period. */
  ended(key: string, nowMs: number): void {
    const entry = this.streams.get(key);
    if (!entry) return;
    entry.live = false;
    entry.endedAt = nowMs;
  }

  addExceptions(
    key: string,
    domain: string,
    appName: string,
    streamId: string,
    counts: readonly { readonly index: number; readonly count: number }[],
    nowMs: number,
  ): void {
    const entry = this.track(key, domain, appName, streamId, nowMs);
    if (!entry) return;
    entry.lastSeenAt = nowMs;
    const target = (entry.counts ??= new Float64Array(EXCEPTION_NAMES.length));
    for (const { index, count } of counts) target[index] = (target[index] ?? 0) + count;
  }

  /** Drops the series of streams that ended more than the grace period ago, or went idle. */
  sweep(nowMs: number): void {
    let ended = 0;
    let idle = 0;
    for (const [key, entry] of this.streams) {
      if (entry.live) continue;
      if (entry.endedAt > 0) {
        if (nowMs - Math.max(entry.endedAt, entry.lastSeenAt) >= this.options.graceMs) {
          this.streams.delete(key);
          ended++;
        }
      } else if (nowMs - entry.lastSeenAt >= this.options.idleMs) {
        this.streams.delete(key);
        idle++;
      }
    }
    if (ended > 0) this.options.onEvict('ended', ended);
    if (idle > 0) this.options.onEvict('idle', idle);
  }

  /** The two families in the Prometheus text format, in chunks; yields to the event loop between chunks. */
  async *render(): AsyncGenerator<string> {
    // A stream known only from exception reports (its start came before we ran) has no stream_up: we do not
    // know that it is live.
    yield* this.renderFamily(HEADER_UP, (entry) =>
      entry.live || entry.endedAt > 0 ? `${UP}{${entry.labels}} ${entry.live ? 1 : 0}\n` : '',
    );
    yield* this.renderFamily(HEADER_EXCEPTIONS, (entry) => {
      const counts = entry.counts;
      if (!counts) return '';
      let out = '';
      for (let i = 0; i < counts.length; i++) {
        const n = counts[i]!;
        if (n > 0) out += `${EXCEPTIONS}{${entry.labels}${EXCEPTION_SUFFIX[i]}${n}\n`;
      }
      return out;
    });
  }

  private async *renderFamily(header: string, line: (entry: Tracked) => string): AsyncGenerator<string> {
    let out = header;
    let inChunk = 0;
    for (const entry of this.streams.values()) {
      out += line(entry);
      if (++inChunk === CHUNK) {
        yield out;
        out = '';
        inChunk = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (out) yield out;
  }
}
