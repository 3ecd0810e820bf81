import { DEFAULT_SIGNATURE_VALIDITY_SECONDS, signPayload } from '../verify/sign.js';
import {
  pushException,
  pushStart,
  pushStop,
  recordFile,
  sequenceFor,
  snapshot,
  type CallbackPayload,
  type ExceptionCount,
} from './payloads.js';

/**
 * A deterministic scenario of Tencent callbacks: N streams over a few push domains and apps, with per-stream
 * state kept coherent (a stop follows its own start and carries the same `sequence`; 321 reports belong to a live
 * push) and retries that re-send an earlier event unchanged apart from a fresh `t`/`sign`, as Tencent re-signs
 * each retry (https://cloud.tencent.com/document/product/267/32744). Same seed and same clock ⇒ same bodies.
 */

export type CallbackKind = 'start' | 'stop' | 'exception' | 'record' | 'snapshot';

/** Relative weights of what the next callback is; they need not sum to 1. */
export interface TrafficMix {
  /** 321 push-exception reports, spread over the live streams. */
  exception: number;
  /** Starts and stops (a stream that is live stops, one that is not starts). */
  startStop: number;
  /** Exact re-sends of an earlier callback with a fresh t/sign. */
  retry: number;
  record: number;
  snapshot: number;
}

export const DEFAULT_MIX: Readonly<TrafficMix> = Object.freeze({
  exception: 0.7,
  startStop: 0.25,
  retry: 0.05,
  record: 0,
  snapshot: 0,
});

export interface ErrcodeMix {
  /** The pusher stopped on purpose (PROTOCOL.md §3.1). */
  normal: number[];
  /** Network, internal, auth, no-data… */
  abnormal: number[];
  /** Share of stops whose errcode is drawn from `abnormal`. */
  abnormalShare: number;
}

export const DEFAULT_ERRCODES: Readonly<ErrcodeMix> = Object.freeze({
  normal: [1, 2, 3],
  abnormal: [4, 5, 7, 8, 12, 13, 14, 15, 16, 17, 18, 20, 24, 39],
  abnormalShare: 0.3,
});

export interface GeneratorOptions {
  /** Signing key; without one the bodies are unsigned. */
  key?: string;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Number of distinct streams; default 100. */
  streams?: number;
  /** Push domains the streams are spread over. */
  domains?: string[];
  /** Push paths (appname) the streams are spread over. */
  apps?: string[];
  mix?: Partial<TrafficMix>;
  errcodes?: Partial<ErrcodeMix>;
  /** Unix time in ms, like Date.now (the default). Read once per generated callback. */
  now?: () => number;
  /** `t` = now + this; default Tencent's 600 s. Raise it for bodies replayed later by a load tool. */
  validitySeconds?: number;
  /** How many recent callbacks a retry may re-send (Tencent retries for ~13 min); default 1000. */
  retryWindow?: number;
}

export interface GeneratedCallback {
  /** Position in the scenario, from 0. */
  index: number;
  kind: CallbackKind;
  streamId: string;
  /** True when this re-sends the callback at `retryOf`. */
  retry: boolean;
  retryOf?: number;
  /** The unsigned payload (shared with the original when `retry`). */
  payload: CallbackPayload;
  /** The JSON sent over the wire: payload + t + sign (unless unsigned). */
  body: string;
}

interface StreamState {
  streamId: string;
  domain: string;
  appName: string;
  /** Position in `TrafficGenerator.live`, or -1 when not pushing. */
  liveAt: number;
  sequence: string;
  startedAt: number;
  pushes: number;
  /** Last 321 `data_time` (ms) and snapshot `create_time` (s) sent for this stream. */
  lastReportMs: number;
  lastSnapshotS: number;
}

/** mulberry32: tiny, fast, good enough for test traffic, and reproducible across platforms. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Types 6 and 7 (frame gaps) dominate real reports; the others appear now and then.
const EXCEPTION_TYPE_WEIGHTS: [number, number][] = [
  [6, 30],
  [7, 30],
  [1, 4],
  [2, 4],
  [3, 6],
  [4, 6],
  [5, 2],
  [8, 1],
  [9, 1],
  [10, 1],
  [11, 1],
  [12, 4],
  [13, 1],
  [14, 1],
  [15, 5],
  [16, 3],
];

export class TrafficGenerator {
  private readonly rng: () => number;
  private readonly streams: StreamState[];
  private readonly mix: TrafficMix;
  private readonly errcodes: ErrcodeMix;
  private readonly now: () => number;
  private readonly key: string | undefined;
  private readonly seed: number;
  private readonly validitySeconds: number;
  private readonly retryWindow: number;
  private readonly recent: GeneratedCallback[] = [];
  /** The streams that are pushing, kept as a list so that picking one is O(1) even with many streams. */
  private readonly live: StreamState[] = [];
  private index = 0;

  constructor(options: GeneratorOptions = {}) {
    this.seed = options.seed ?? 1;
    this.rng = createRng(this.seed);
    this.key = options.key;
    this.now = options.now ?? Date.now;
    this.validitySeconds = options.validitySeconds ?? DEFAULT_SIGNATURE_VALIDITY_SECONDS;
    this.retryWindow = options.retryWindow ?? 1000;
    this.mix = { ...DEFAULT_MIX, ...options.mix };
    this.errcodes = { ...DEFAULT_ERRCODES, ...options.errcodes };
    const count = options.streams ?? 100;
    const domains = options.domains ?? ['live-a.example.com', 'live-b.example.com', 'live-c.example.com'];
    const apps = options.apps ?? ['live', 'game'];
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`streams must be a positive integer, got ${count}`);
    if (domains.length === 0 || apps.length === 0) throw new RangeError('domains and apps must not be empty');
    const weights = Object.values(this.mix);
    if (weights.some((w) => !(w >= 0)) || weights.every((w) => w === 0)) {
      throw new RangeError('mix weights must be ≥ 0 and not all 0');
    }
    this.streams = Array.from({ length: count }, (_, i) => ({
      streamId: `stream-${String(i).padStart(4, '0')}`,
      domain: domains[i % domains.length] as string,
      appName: apps[Math.floor(i / domains.length) % apps.length] as string,
      liveAt: -1,
      sequence: '',
      startedAt: 0,
      pushes: 0,
      lastReportMs: 0,
      lastSnapshotS: 0,
    }));
  }

  /** Streams currently pushing in the scenario. */
  liveStreams(): number {
    return this.live.length;
  }

  next(): GeneratedCallback {
    const nowMs = this.now();
    const kind = this.pickKind();
    if (kind === 'retry' && this.recent.length > 0) {
      const original = this.recent[Math.floor(this.rng() * this.recent.length)] as GeneratedCallback;
      return this.emit({ ...original, retry: true, retryOf: original.index }, nowMs);
    }
    if (kind === 'exception' || kind === 'retry') return this.exception(nowMs);
    if (kind === 'record' || kind === 'snapshot') return this.file(kind, nowMs);
    return this.toggle(this.pickStream(), nowMs);
  }

  take(count: number): GeneratedCallback[] {
    return Array.from({ length: count }, () => this.next());
  }

  private pickKind(): keyof TrafficMix {
    const entries = Object.entries(this.mix) as [keyof TrafficMix, number][];
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let r = this.rng() * total;
    for (const [kind, weight] of entries) {
      if (r < weight) return kind;
      r -= weight;
    }
    return 'exception';
  }

  private pickStream(): StreamState {
    return this.streams[Math.floor(this.rng() * this.streams.length)] as StreamState;
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rng() * items.length)] as T;
  }

  private toggle(stream: StreamState, nowMs: number): GeneratedCallback {
    const eventTime = Math.floor(nowMs / 1000);
    const base = { domain: stream.domain, appName: stream.appName, streamId: stream.streamId, eventTime };
    if (stream.liveAt >= 0) {
      const last = this.live.pop() as StreamState;
      if (last !== stream) {
        this.live[stream.liveAt] = last;
        last.liveAt = stream.liveAt;
      }
      stream.liveAt = -1;
      const abnormal = this.rng() < this.errcodes.abnormalShare && this.errcodes.abnormal.length > 0;
      const errcode = this.pick(abnormal ? this.errcodes.abnormal : this.errcodes.normal);
      const payload = pushStop({ ...base, sequence: stream.sequence, startedAt: stream.startedAt, errcode });
      return this.emit({ kind: 'stop', streamId: stream.streamId, retry: false, payload }, nowMs);
    }
    stream.liveAt = this.live.push(stream) - 1;
    stream.pushes += 1;
    stream.sequence = sequenceFor(`${this.seed}:${stream.streamId}:${stream.pushes}`);
    stream.startedAt = eventTime;
    const payload = pushStart({ ...base, sequence: stream.sequence });
    return this.emit({ kind: 'start', streamId: stream.streamId, retry: false, payload }, nowMs);
  }

  /** 321 is only sent for a push in progress: report on a live stream, or start one if none is live. */
  private exception(nowMs: number): GeneratedCallback {
    if (this.live.length === 0) return this.toggle(this.pickStream(), nowMs);
    const stream = this.pick(this.live);
    const types = new Set<number>();
    const wanted = 1 + Math.floor(this.rng() * this.rng() * 3);
    while (types.size < wanted) types.add(this.weightedType());
    const exceptions: ExceptionCount[] = [...types].map((type) => ({
      type,
      count: 1 + Math.floor(this.rng() * 6),
    }));
    const payload = pushException({
      domain: stream.domain,
      appName: stream.appName,
      streamId: stream.streamId,
      sequence: stream.sequence,
      dataTimeMs: this.reportTime(stream, nowMs),
      exceptions,
    });
    return this.emit({ kind: 'exception', streamId: stream.streamId, retry: false, payload }, nowMs);
  }

  private weightedType(): number {
    const total = EXCEPTION_TYPE_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
    let r = this.rng() * total;
    for (const [type, weight] of EXCEPTION_TYPE_WEIGHTS) {
      if (r < weight) return type;
      r -= weight;
    }
    return 6;
  }

  /**
   * The receiver de-duplicates a 321 by stream, sequence and `data_time`; Tencent sends at most one report per
   * `report_interval`, so two distinct reports of one push never share a `data_time`. Keep it so at any rate:
   * only retries may be duplicates.
   */
  private reportTime(stream: StreamState, nowMs: number): number {
    stream.lastReportMs = Math.max(Math.floor(nowMs), stream.lastReportMs + 1);
    return stream.lastReportMs;
  }

  private file(kind: 'record' | 'snapshot', nowMs: number): GeneratedCallback {
    const stream = this.pickStream();
    const base = { domain: stream.domain, appName: stream.appName, streamId: stream.streamId };
    let payload: CallbackPayload;
    if (kind === 'record') {
      // file_id identifies a recording (the receiver's de-duplication key): unique per generated file.
      const fileId = sequenceFor(`${this.seed}:file:${this.index}`).slice(0, 16);
      payload = recordFile({ ...base, fileId, eventTime: Math.floor(nowMs / 1000) });
    } else {
      // pic_url carries the second of the screenshot: at most one per stream and second, like Tencent's.
      stream.lastSnapshotS = Math.max(Math.floor(nowMs / 1000), stream.lastSnapshotS + 1);
      payload = snapshot({ ...base, eventTime: stream.lastSnapshotS });
    }
    return this.emit({ kind, streamId: stream.streamId, retry: false, payload }, nowMs);
  }

  private emit(c: Omit<GeneratedCallback, 'index' | 'body'>, nowMs: number): GeneratedCallback {
    const wire =
      this.key === undefined
        ? c.payload
        : signPayload(c.payload, this.key, nowMs / 1000, this.validitySeconds);
    const generated: GeneratedCallback = { ...c, index: this.index++, body: JSON.stringify(wire) };
    if (!generated.retry) {
      this.recent.push(generated);
      if (this.recent.length > this.retryWindow) this.recent.shift();
    }
    return generated;
  }
}

/** Just the bodies, e.g. for a load tool that cycles through a fixed list of requests. */
export function generateBodies(options: GeneratorOptions, count: number): string[] {
  const generator = new TrafficGenerator(options);
  return Array.from({ length: count }, () => generator.next().body);
}
