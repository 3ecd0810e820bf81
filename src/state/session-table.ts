import { sessionKey, type Session } from './session.js';

/**
 * The live push sessions in memory, mirroring the store: read at scrape time (`streams_active`,
 * `stream_up`) and on the hot path (does an exception report belong to a live session?). Counts per
 * (domain, app_name) are kept as sessions come and go, so a scrape does not walk every session.
 */
export class SessionTable {
  private readonly sessions = new Map<string, Session>();
  private readonly counts = new Map<string, { domain: string; appName: string; n: number }>();

  get size(): number {
    return this.sessions.size;
  }

  get(key: string): Session | undefined {
    return this.sessions.get(key);
  }

  set(session: Session): void {
    const key = sessionKey(session);
    if (!this.sessions.has(key)) this.count(session, 1);
    this.sessions.set(key, session);
  }

  delete(key: string): Session | undefined {
    const session = this.sessions.get(key);
    if (session) {
      this.sessions.delete(key);
      this.count(session, -1);
    }
    return session;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** Live sessions per (domain, app_name). */
  countsByApp(): IterableIterator<{ readonly domain: string; readonly appName: string; readonly n: number }> {
    return this.counts.values();
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
