import { sessionKey, type Session } from './session.js';

/** Ended entries beyond which they are all forgotten at once, whatever their age (or the number of live ones). */
const MIN_ENDED_KEPT = 10_000;

/** `Entry.endedIn` of a live stream. */
const LIVE = -1;

/**
 * A stream's entry: its latest session, written over in place when the stream starts again or is touched. Its
 * strings stay those of the first start (the key fixes domain, app and stream id; a sequence is kept while it
 * does not change), so a restart leaves nothing new in the heap but a new sequence string.
 */
class Entry implements Session {
  domain: string;
  appName: string;
  streamId: string;
  sequence: string;
  startedAt: number;
  lastSeenAt: number;
  /** The upkeep's number when the stream ended, or LIVE. */
  endedIn = LIVE;

  constructor(session: Session) {
    this.domain = session.domain;
    this.appName = session.appName;
    this.streamId = session.streamId;
    this.sequence = session.sequence;
    this.startedAt = session.startedAt;
    this.lastSeenAt = session.lastSeenAt;
  }

  assign(session: Session): void {
    if (this.sequence !== session.sequence) this.sequence = session.sequence;
    this.startedAt = session.startedAt;
    this.lastSeenAt = session.lastSeenAt;
  }
}

/**
 * The live push sessions in memory, mirroring the store: read at scrape time (`streams_active`,
 * `stream_up`) and on the hot path (does an exception report belong to a live session?). Counts per
 * (domain, app_name) are kept as sessions come and go, so a scrape does not walk every session.
 *
 * The table keeps one entry per stream and writes a new session over it: V8 moves what lives on into the old
 * generation, so a new object and new strings per start (or a `Map` that deletes and re-adds its keys, which V8
 * copies whole every few thousand start/stop pairs, ~450 KB at 10 000 streams) filled it and brought on each
 * major collection sooner (docs/performance.md). A stream that stops keeps its entry for a while, and starting
 * again reuses it; `forgetEnded()`, run by the periodic upkeep, drops the entries of streams that ended before
 * the previous run and did not come back; more ended entries than live ones (and at least 10 000) are dropped
 * at once. What `get` and `values` return is the entry itself: read it at once, do not keep it.
 */
export class SessionTable {
  private readonly sessions = new Map<string, Entry>();
  private readonly counts = new Map<string, { domain: string; appName: string; n: number }>();
  private live = 0;
  private ended = 0;
  private generation = 0;

  get size(): number {
    return this.live;
  }

  /** Entries kept for streams that ended (not in `size`). */
  get endedEntries(): number {
    return this.ended;
  }

  get(key: string): Session | undefined {
    const entry = this.sessions.get(key);
    return entry?.endedIn === LIVE ? entry : undefined;
  }

  set(session: Session): void {
    const key = sessionKey(session);
    const entry = this.sessions.get(key);
    if (entry?.endedIn === LIVE) return entry.assign(session);
    if (entry) {
      entry.assign(session);
      entry.endedIn = LIVE;
      this.ended--;
    } else {
      this.sessions.set(key, new Entry(session));
    }
    this.live++;
    this.count(session, 1);
  }

  /** Ends the stream's session; false if it had none. */
  delete(key: string): boolean {
    const entry = this.sessions.get(key);
    if (entry?.endedIn !== LIVE) return false;
    entry.endedIn = this.generation;
    this.live--;
    this.ended++;
    this.count(entry, -1);
    if (this.ended > Math.max(this.live, MIN_ENDED_KEPT)) this.forget(Infinity);
    return true;
  }

  /** Forgets the streams that ended before the previous call and did not start again since. */
  forgetEnded(): void {
    this.forget(this.generation);
    this.generation++;
  }

  *values(): IterableIterator<Session> {
    for (const entry of this.sessions.values()) if (entry.endedIn === LIVE) yield entry;
  }

  /**
   * The keys of live sessions last seen before `cutoffMs`, in the order their streams were first seen. Each entry
   * is read when the iteration reaches it, so one may be taken up between turns of the event loop: a stream
   * that came back meanwhile is not returned.
   */
  *idleKeys(cutoffMs: number): IterableIterator<string> {
    for (const [key, entry] of this.sessions) {
      if (entry.endedIn === LIVE && entry.lastSeenAt < cutoffMs) yield key;
    }
  }

  /** Live sessions per (domain, app_name). */
  countsByApp(): IterableIterator<{ readonly domain: string; readonly appName: string; readonly n: number }> {
    return this.counts.values();
  }

  /** Drops ended entries from before `generation`. */
  private forget(generation: number): void {
    if (this.ended === 0) return;
    for (const [key, entry] of this.sessions) {
      if (entry.endedIn !== LIVE && entry.endedIn < generation) {
        this.sessions.delete(key);
        this.ended--;
      }
    }
  }

  private count(session: Session, delta: number): void {
    const key = `${session.domain}\u0000${session.appName}`;
    const entry = this.counts.get(key);
    if (!entry) {
      this.counts.set(key, { domain: session.domain, appName: session.appName, n: delta });
    } else if (entry.n + delta === 0) {
      this.counts.delete(key);
    } else {
      entry.n += delta;
    }
  }
}
