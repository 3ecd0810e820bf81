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
  /** Milliseconds, for slicing a render (tests stand it still or run it fast); default performance.now. */
  readonly now?: () => number;
}

const UP = 'tencent_live_stream_up';
const EXCEPTIONS = 'tencent_live_push_exceptions_total';
const HEADER_UP = Buffer.from(
  `# HELP ${UP} 1 while a push session of the stream is live, 0 during the grace period after it ended.\n# TYPE ${UP} gauge\n`,
);
const HEADER_EXCEPTIONS = Buffer.from(
  `# HELP ${EXCEPTIONS} Push exceptions reported by Tencent (sum of abnormal_event count), per stream and kind.\n# TYPE ${EXCEPTIONS} counter\n`,
);
const UP_PREFIX = Buffer.from(`${UP}{`);
const UP_1 = Buffer.from('} 1\n');
const ZERO = '0'.charCodeAt(0);
const ONE = '1'.charCodeAt(0);
const EXCEPTIONS_PREFIX = Buffer.from(`${EXCEPTIONS}{`);
const EXCEPTION_SUFFIX = EXCEPTION_NAMES.map((name) => Buffer.from(`,exception="${name}"} `));
const viewOf = (buffer: Buffer) => new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
const EXCEPTION_SUFFIX_VIEW = EXCEPTION_SUFFIX.map(viewOf);
const EXCEPTIONS_PREFIX_VIEW = viewOf(EXCEPTIONS_PREFIX);
const KINDS = EXCEPTION_NAMES.length;
/** A chunk is handed to the socket once it holds this many bytes. */
const CHUNK_BYTES = 128 * 1024;
/** Room for a chunk plus the longest stream (17 exception lines of 3 labels of 256 characters: ~43 KB). */
const BUFFER_BYTES = CHUNK_BYTES + 64 * 1024;
/**
 * A render yields to the event loop once it ran this long, or rendered SLICE_BYTES, since it last yielded. Not
 * after every chunk: callbacks that arrive during a slice are then committed together, one transaction for
 * many, which costs the core far less than one each. Yielding after every 64 KiB left them one or two per
 * turn, and the render only got what the callbacks left of the core (docs/performance.md). Not much longer
 * either: a turn lasts about slice ÷ (1 − the share of the core the callbacks need), which is what a callback
 * may wait during a scrape.
 */
const SLICE_MS = 1;
const SLICE_BYTES = 512 * 1024;
/**
 * Written chunks kept for the next ones (recycle()), so that a scrape allocates a dozen buffers, not 400:
 * enough for a slice's chunks (their write callbacks only run once the slice is over) and a few more that the
 * socket held back. At most 12 × 192 KiB stay allocated between scrapes.
 */
const SPARE_BUFFERS = 12;
/** The longest value `writeValue` writes (String() of a double). */
const MAX_VALUE_BYTES = 32;
/** The most an exception line has after its label set: the kind, the value and the line end. */
const LONGEST_LINE_END = Math.max(...EXCEPTION_SUFFIX.map((s) => s.length)) + MAX_VALUE_BYTES + 1;

const LIVE = 1;
const ENDED = 2;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const monotonicNow = () => performance.now();

/** The buffer a render is filling, and the stream it goes on with. */
interface Chunk {
  out: Buffer;
  view: DataView;
  at: number;
  slot: number;
  /** Room the next buffer needs (a stream's lines, when they did not fit). */
  need: number;
}

/** How far a render is into its time slice (SLICE_MS, SLICE_BYTES). */
interface Slice {
  readonly now: () => number;
  start: number;
  bytes: number;
}

/**
 * Hands `chunk` on, and yields to the event loop if the slice is over. Defined once, not as a closure in each
 * render: the generator objects of every new closure have a map of their own, and V8 threw the render's
 * optimised code away ("wrong map") in each of the first five renders after a start, which took 120–150 ms
 * instead of ~33.
 */
async function* pass(chunk: Buffer, slice: Slice): AsyncGenerator<Buffer> {
  yield chunk;
  slice.bytes += chunk.length;
  if (slice.bytes < SLICE_BYTES && slice.now() - slice.start < SLICE_MS) return;
  await nextTurn();
  slice.start = slice.now();
  slice.bytes = 0;
}

/** The queue limit for a renderBytes() consumer: beyond it, wait until the socket took the chunks (`drain`). */
export const MAX_QUEUED_BYTES = SLICE_BYTES;

function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function streamLabels(domain: string, appName: string, streamId: string): string {
  return `domain="${escapeLabel(domain)}",app_name="${escapeLabel(appName)}",stream_id="${escapeLabel(streamId)}"`;
}

/** Copies `source` into `out` at `at`; short constants byte by byte (cheaper than a call into C++). */
function put(out: Buffer, at: number, source: Buffer, from = 0, length = source.length): number {
  if (length > 16) return at + source.copy(out, at, from, from + length);
  for (let i = 0; i < length; i++) out[at + i] = source[from + i]!;
  return at + length;
}

/**
 * Copies `length` bytes between two views, four at a time. For a label set (~100 bytes) several times cheaper
 * than Buffer#copy of a range of the arena, which builds a Uint8Array over it for every call.
 */
function copyBytes(to: DataView, at: number, from: DataView, start: number, length: number): number {
  let i = 0;
  for (; i + 4 <= length; i += 4) to.setUint32(at + i, from.getUint32(start + i));
  for (; i < length; i++) to.setUint8(at + i, from.getUint8(start + i));
  return at + length;
}

/** A sample value as the text format (and prom-client) writes it: digits for integers, else String(). */
function writeValue(out: Buffer, at: number, value: number): number {
  if (Number.isSafeInteger(value) && value >= 0) {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    for (let i = digits - 1, rest = value; i >= 0; i--, rest = Math.floor(rest / 10)) {
      out[at + i] = 48 + (rest % 10);
    }
    return at + digits;
  }
  return at + out.write(String(value), at, 'latin1');
}

/**
 * The per-stream families `tencent_live_stream_up` and `tencent_live_push_exceptions_total`, kept out of
 * prom-client: 100 000 streams × several kinds is ~400 000 series, which prom-client's generic rendering
 * cannot serve within a scrape budget without blocking the event loop. Series are bounded: removed a grace
 * period after their stream ended, dropped when idle, and capped.
 *
 * State is kept compact, in slots of typed arrays rather than an object per stream, and each stream's label
 * set is escaped and UTF-8 encoded once into a shared byte arena. A scrape then only copies bytes into
 * ~128 KiB buffers and yields to the event loop about every millisecond: no per-line string building, no
 * re-encoding, and little for the garbage collector (docs/performance.md has the measurements).
 */
export class StreamSeries {
  /** Stream key → slot. */
  private readonly slots = new Map<string, number>();
  /** Slot → stream key (undefined: free), for sweeping. */
  private keys: (string | undefined)[] = [];
  private readonly free: number[] = [];
  private state = new Uint8Array(0);
  private endedAt = new Float64Array(0);
  private lastSeenAt = new Float64Array(0);
  /** Push exceptions by slot × EXCEPTION_NAMES index. */
  private counts = new Float64Array(0);
  private hasCounts = new Uint8Array(0);
  private labelStart = new Uint32Array(0);
  private labelLength = new Uint32Array(0);
  /**
   * Per stream its line `tencent_live_stream_up{domain="…",app_name="…",stream_id="…"} 1\n`, escaped, UTF-8,
   * back to back, its value kept at 0 while the stream is ended (setUp). Streams tracked one after the other
   * have adjacent slots and lines, so a render copies a run of such lines at once; an exception line copies the
   * label set from the stream's line.
   */
  private arena: Buffer = Buffer.alloc(0);
  private arenaView = viewOf(this.arena);
  private arenaUsed = 0;
  /** Bytes of the arena that belong to dropped streams (reclaimed by compaction during a sweep). */
  private arenaDropped = 0;
  /** Output buffers whose bytes reached the socket, for the next chunks. */
  private readonly spare: Buffer[] = [];
  /** Set when the cap refused a stream its series; cleared once readmit() gave every live stream one. */
  private refused = false;

  constructor(private readonly options: StreamSeriesOptions) {}

  get size(): number {
    return this.slots.size;
  }

  get limit(): number {
    return this.options.maxTracked;
  }

  private grow(): void {
    const capacity = Math.max(64, this.keys.length * 2);
    const copy = <T extends Uint8Array | Uint32Array | Float64Array>(
      from: T,
      make: (n: number) => T,
      per = 1,
    ) => {
      const to = make(capacity * per);
      to.set(from);
      return to;
    };
    this.state = copy(this.state, (n) => new Uint8Array(n));
    this.hasCounts = copy(this.hasCounts, (n) => new Uint8Array(n));
    this.endedAt = copy(this.endedAt, (n) => new Float64Array(n));
    this.lastSeenAt = copy(this.lastSeenAt, (n) => new Float64Array(n));
    this.counts = copy(this.counts, (n) => new Float64Array(n), KINDS);
    this.labelStart = copy(this.labelStart, (n) => new Uint32Array(n));
    this.labelLength = copy(this.labelLength, (n) => new Uint32Array(n));
    for (let slot = capacity - 1; slot >= this.keys.length; slot--) this.free.push(slot);
    this.keys.length = capacity;
  }

  private storeLabels(slot: number, labels: string): void {
    const line = `${UP}{${labels}} 1\n`;
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit), so that the line is encoded in one pass.
    const room = line.length * 3;
    if (this.arenaUsed + room > this.arena.length) {
      const grown = Buffer.allocUnsafe(Math.max(64 * 1024, (this.arenaUsed + room) * 2));
      this.arena.copy(grown, 0, 0, this.arenaUsed);
      this.setArena(grown);
    }
    const length = this.arena.write(line, this.arenaUsed, 'utf8');
    this.labelStart[slot] = this.arenaUsed;
    this.labelLength[slot] = length;
    this.arenaUsed += length;
  }

  private track(key: string, domain: string, appName: string, streamId: string, nowMs: number) {
    const known = this.slots.get(key);
    if (known !== undefined) return known;
    if (this.slots.size >= this.options.maxTracked) {
      this.refused = true;
      this.options.onEvict('overflow', 1);
      return undefined;
    }
    if (this.free.length === 0) this.grow();
    const slot = this.free.pop()!;
    this.slots.set(key, slot);
    this.keys[slot] = key;
    this.state[slot] = this.options.isLive?.(key) ? LIVE : 0;
    this.endedAt[slot] = 0;
    this.lastSeenAt[slot] = nowMs;
    this.storeLabels(slot, streamLabels(domain, appName, streamId));
    return slot;
  }

  private drop(slot: number): void {
    this.slots.delete(this.keys[slot]!);
    this.keys[slot] = undefined;
    this.state[slot] = 0;
    // Slots come back zeroed: new ones from grow(), reused ones from here.
    this.hasCounts[slot] = 0;
    this.counts.fill(0, slot * KINDS, (slot + 1) * KINDS);
    this.arenaDropped += this.labelLength[slot]!;
    this.labelLength[slot] = 0;
    this.free.push(slot);
  }

  /** Sets the value of the slot's stream_up line in the arena (the byte before its final `\n`). */
  private setUp(slot: number, value: typeof ZERO | typeof ONE): void {
    this.arena[this.labelStart[slot]! + this.labelLength[slot]! - 2] = value;
  }

  /** A push session of the stream is live. */
  live(key: string, domain: string, appName: string, streamId: string, nowMs: number): void {
    const slot = this.track(key, domain, appName, streamId, nowMs);
    if (slot === undefined) return;
    this.state[slot] = LIVE;
    this.setUp(slot, ONE);
    this.endedAt[slot] = 0;
    this.lastSeenAt[slot] = nowMs;
  }

  /** The stream's session ended: its series go after the grace period. */
  ended(key: string, nowMs: number): void {
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    this.state[slot] = ENDED;
    this.setUp(slot, ZERO);
    this.endedAt[slot] = nowMs;
  }

  addExceptions(
    key: string,
    domain: string,
    appName: string,
    streamId: string,
    counts: readonly { readonly index: number; readonly count: number }[],
    nowMs: number,
  ): void {
    const slot = this.track(key, domain, appName, streamId, nowMs);
    if (slot === undefined) return;
    this.lastSeenAt[slot] = nowMs;
    const base = slot * KINDS;
    for (const { index, count } of counts) this.counts[base + index] = this.counts[base + index]! + count;
    this.hasCounts[slot] = 1;
  }

  /**
   * Gives the live streams that the cap refused their series one, as far as there is room now (after a sweep):
   * a stream without trouble sends no report that would, and its `stream_up` would be missing for the whole
   * push. Walks `live` (the live sessions) only after a refusal, and only while there is room; returns how many
   * streams got their series.
   */
  readmit<S extends { domain: string; appName: string; streamId: string }>(
    live: Iterable<S>,
    keyOf: (session: S) => string,
    nowMs: number,
  ): number {
    let admitted = 0;
    if (!this.refused) return admitted;
    for (const session of live) {
      if (this.slots.size >= this.options.maxTracked) return admitted;
      const key = keyOf(session);
      if (this.slots.has(key)) continue;
      this.live(key, session.domain, session.appName, session.streamId, nowMs);
      admitted++;
    }
    this.refused = false;
    return admitted;
  }

  /** Drops the series of streams that ended more than the grace period ago, or went idle. */
  sweep(nowMs: number): void {
    let ended = 0;
    let idle = 0;
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.keys[slot] === undefined) continue;
      const state = this.state[slot]!;
      if (state & LIVE) continue;
      if (state & ENDED) {
        if (nowMs - Math.max(this.endedAt[slot]!, this.lastSeenAt[slot]!) >= this.options.graceMs) {
          this.drop(slot);
          ended++;
        }
      } else if (nowMs - this.lastSeenAt[slot]! >= this.options.idleMs) {
        this.drop(slot);
        idle++;
      }
    }
    if (this.arenaDropped > 64 * 1024 && this.arenaDropped > this.arenaUsed / 2) this.compact();
    if (ended > 0) this.options.onEvict('ended', ended);
    if (idle > 0) this.options.onEvict('idle', idle);
  }

  private setArena(arena: Buffer): void {
    this.arena = arena;
    this.arenaView = viewOf(arena);
  }

  /** Moves the label sets of tracked streams together, dropping those of streams that went. */
  private compact(): void {
    const next = Buffer.allocUnsafe(Math.max(64 * 1024, (this.arenaUsed - this.arenaDropped) * 2));
    let used = 0;
    for (let slot = 0; slot < this.keys.length; slot++) {
      if (this.keys[slot] === undefined) continue;
      const start = this.labelStart[slot]!;
      const length = this.labelLength[slot]!;
      this.arena.copy(next, used, start, start + length);
      this.labelStart[slot] = used;
      used += length;
    }
    this.setArena(next);
    this.arenaUsed = used;
    this.arenaDropped = 0;
  }

  /**
   * Takes back a chunk from renderBytes() once it was written out (not before: its bytes get overwritten).
   * Without this every chunk is a fresh buffer, and the garbage collector ran several full collections per
   * scrape of 100 000 streams to keep up with ~110 MB of them.
   */
  recycle(chunk: Buffer): void {
    if (chunk.buffer.byteLength !== BUFFER_BYTES || this.spare.length >= SPARE_BUFFERS) return;
    this.spare.push(Buffer.from(chunk.buffer, 0, BUFFER_BYTES));
  }

  /** A buffer for the next chunk; never smaller than `need` (label sets are bounded, so `need` always fits). */
  private buffer(need = 0): Buffer {
    if (need > BUFFER_BYTES) return Buffer.allocUnsafe(need);
    return this.spare.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES);
  }

  /** The two families in the Prometheus text format, as strings (see renderBytes). */
  async *render(): AsyncGenerator<string> {
    for await (const chunk of this.renderBytes()) yield chunk.toString('utf8');
  }

  /**
   * The two families in the Prometheus text format, UTF-8, in chunks that end at a line end; yields to the event
   * loop about every millisecond (SLICE_MS, SLICE_BYTES). Streams tracked or dropped meanwhile may or may not
   * appear in this scrape.
   */
  async *renderBytes(): AsyncGenerator<Buffer> {
    const now = this.options.now ?? monotonicNow;
    const slice: Slice = { now, start: now(), bytes: 0 };
    const out = this.buffer();
    const chunk: Chunk = { out, view: viewOf(out), at: 0, slot: 0, need: 0 };
    chunk.at = put(chunk.out, 0, HEADER_UP);
    // The loops are methods of their own, each run once per chunk: a loop in this generator was optimised
    // on stack in the first render, and the code after it, which had never run, was thrown away in the next.
    while (this.fillUp(chunk)) {
      yield* pass(chunk.out.subarray(0, chunk.at), slice);
      this.nextBuffer(chunk);
    }
    chunk.at = put(chunk.out, chunk.at, HEADER_EXCEPTIONS);
    chunk.slot = 0;
    while (this.fillExceptions(chunk)) {
      yield* pass(chunk.out.subarray(0, chunk.at), slice);
      this.nextBuffer(chunk);
    }
    if (chunk.at > 0) yield chunk.out.subarray(0, chunk.at);
  }

  private nextBuffer(chunk: Chunk): void {
    chunk.out = this.buffer(chunk.need);
    chunk.view = viewOf(chunk.out);
    chunk.at = 0;
    chunk.need = 0;
  }

  /**
   * Writes the stream_up lines of the streams from `chunk.slot` on; true if it stopped because the chunk is full
   * (`chunk.slot` is then where to go on), false once every stream was written. A stream known only from
   * exception reports (its start came before we ran) has no stream_up: we do not know that it is live. Lines
   * that lie back to back in the arena are copied together.
   */
  private fillUp(chunk: Chunk): boolean {
    const { out } = chunk;
    let { at } = chunk;
    let runStart = 0;
    let runEnd = 0;
    for (let slot = chunk.slot; slot < this.keys.length; slot++) {
      if (this.keys[slot] === undefined || this.state[slot] === 0) continue;
      const start = this.labelStart[slot]!;
      const length = this.labelLength[slot]!;
      if (start === runEnd && at + (runEnd - runStart) + length <= CHUNK_BYTES) {
        runEnd += length;
        continue;
      }
      at = put(out, at, this.arena, runStart, runEnd - runStart);
      if (at > 0 && at + length > CHUNK_BYTES) {
        chunk.at = at;
        chunk.slot = slot;
        chunk.need = length;
        return true;
      }
      runStart = start;
      runEnd = start + length;
    }
    chunk.at = put(out, at, this.arena, runStart, runEnd - runStart);
    return false;
  }

  /** Writes the push_exceptions_total lines of the streams from `chunk.slot` on; returns as fillUp does. */
  private fillExceptions(chunk: Chunk): boolean {
    const { out, view } = chunk;
    let { at } = chunk;
    for (let slot = chunk.slot; slot < this.keys.length; slot++) {
      if (this.keys[slot] === undefined || this.hasCounts[slot] === 0) continue;
      const labels = this.labelLength[slot]! - UP_PREFIX.length - UP_1.length;
      const need = KINDS * (EXCEPTIONS_PREFIX.length + labels + LONGEST_LINE_END);
      // A buffer always has room for one stream's lines (nextBuffer), so an empty one is never full.
      if (at > 0 && at + need > out.length) {
        chunk.at = at;
        chunk.slot = slot;
        chunk.need = need;
        return true;
      }
      const base = slot * KINDS;
      // The first line's `name{labels` is copied within the chunk for the stream's other lines: cheaper than
      // another copy from the arena (copyWithin is a plain memmove).
      let first = -1;
      for (let kind = 0; kind < KINDS; kind++) {
        const n = this.counts[base + kind]!;
        if (!(n > 0)) continue;
        if (first < 0) {
          first = at;
          at = copyBytes(view, at, EXCEPTIONS_PREFIX_VIEW, 0, EXCEPTIONS_PREFIX.length);
          at = copyBytes(view, at, this.arenaView, this.labelStart[slot]! + UP_PREFIX.length, labels);
        } else {
          const length = EXCEPTIONS_PREFIX.length + labels;
          out.copyWithin(at, first, first + length);
          at += length;
        }
        const suffix = EXCEPTION_SUFFIX_VIEW[kind]!;
        at = copyBytes(view, at, suffix, 0, suffix.byteLength);
        at = writeValue(out, at, n);
        out[at++] = 10;
      }
      if (at >= CHUNK_BYTES) {
        chunk.at = at;
        chunk.slot = slot + 1;
        return true;
      }
    }
    chunk.at = at;
    return false;
  }
}
