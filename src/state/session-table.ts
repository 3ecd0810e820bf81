import { sessionKey, type Session } from './session.js';

/** Ended entries beyond which they are all forgotten at once, whatever their age (or the number of live ones). */
const MIN_ENDED_KEPT = 10_000;

/**
 * The live push sessions in memory, mirroring the store: read at scrape time (`streams_active`,
 * `stream_up`) and on the hot path (does an exception report belong to a live session?). Counts per
 * (domain, app_name) are kept as sessions come and go, so a scrape does not walk every session.
 *
 * A stream that stops keeps its entry for a while (the upkeep's number when it ended, instead of a session), and
 * starting again reuses it. Deleting it at once and adding it back on the next start made V8 copy the whole
 * table every few thousand start/stop pairs (~450 KB at 10 000 streams) and keep a new key string per start:
 * together more than half of what the heap kept per start, and what brought on each major collection sooner
 * (docs/performance.md). `forgetEnded()`, run by the periodic upkeep, drops the entries of streams that ended
 * before the previous run and did not come back; more ended entries than live ones (and at least 10 000) are
 * dropped at once.
 */
export class SessionTable {
  private readonly sessions = new Map<string, Session | number>();
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
    return typeof entry === 'object' ? entry : undefined;
  }

  set(session: Session): void {
    const key = sessionKey(session);
    const entry = this.sessions.get(key);
    if (typeof entry !== 'object') {
      if (entry !== undefined) this.ended--;
      this.live++;
      this.count(session, 1);
    }
    this.sessions.set(key, session);
  }

  delete(key: string): Session | undefined {
    const session = this.sessions.get(key);
    if (typeof session !== 'object') return undefined;
    this.sessions.set(key, this.generation);
    this.live--;
    this.ended++;
    this.count(session, -1);
    if (this.ended > Math.max(this.live, MIN_ENDED_KEPT)) this.forget(Infinity);
    return session;
  }

  /** Forgets the streams that ended before the previous call and did not start again since. */
  forgetEnded(): void {
    this.forget(this.generation);
    this.generation++;
  }

  *values(): IterableIterator<Session> {
    for (const entry of this.sessions.values()) if (typeof entry === 'object') yield entry;
  }

  /** Live sessions per (domain, app_name). */
  countsByApp(): IterableIterator<{ readonly domain: string; readonly appName: string; readonly n: number }> {
    return this.counts.values();
  }

  /** Drops ended entries from before `generation`. */
  private forget(generation: number): void {
    if (this.ended === 0) return;
    for (const [key, entry] of this.sessions) {
      if (typeof entry === 'number' && entry < generation) {
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
