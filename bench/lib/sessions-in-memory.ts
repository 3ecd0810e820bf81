import { applySession, SessionRoom, type Session, type SessionRecords } from '../../src/state/session.js';
import type { StateStore } from '../../src/state/store.js';

/**
 * A store for the bench's "service in memory" baseline (bench/baselines/service-in-memory.ts): push sessions in
 * memory, opened, ended and expired by the store's own code (`applySession`), but no de-duplication key kept (every
 * event is new) and nothing written. No configuration of the service uses it: it would answer 200 for events it
 * then forgot.
 */
export class SessionsInMemory implements StateStore {
  readonly name = 'sqlite';
  private readonly sessions = new Map<string, Session>();
  /** The records of disconnects that ended no session (latin1 of the key → expiry), as the store keeps them. */
  private readonly ended = new Map<string, number>();

  async loadSessions(): Promise<Session[]> {
    return [];
  }

  /** The time and key expiry of the batch being applied, for `records`. */
  private nowMs = 0;
  private expiresAt = 0;
  /** The sessions and ended pushes in memory, as applySession reads and writes them. */
  private readonly records: SessionRecords = {
    get: (key) => this.sessions.get(key),
    ended: (endKey) => (this.ended.get(endKey.toString('latin1')) ?? 0) > this.nowMs,
    put: (key, session) => void this.sessions.set(key, session),
    remove: (key) => void this.sessions.delete(key),
    markEnded: (endKey) => void this.ended.set(endKey.toString('latin1'), this.expiresAt),
  };

  apply: StateStore['apply'] = async (commands, nowMs, keyTtlMs, room = SessionRoom.unlimited()) => {
    this.nowMs = nowMs;
    this.expiresAt = nowMs + keyTtlMs;
    return commands.map(({ session: change }) =>
      change ? { duplicate: false, session: applySession(change, this.records, room) } : { duplicate: false },
    );
  };

  async expireSessions(keys: readonly string[], cutoffMs: number): Promise<Session[]> {
    return keys.flatMap((key) => {
      const session = this.sessions.get(key);
      if (!session || session.lastSeenAt >= cutoffMs) return [];
      this.sessions.delete(key);
      return [session];
    });
  }

  async purgeExpiredKeys(nowMs: number): Promise<number> {
    let purged = 0;
    for (const [key, expiresAt] of this.ended) {
      if (expiresAt > nowMs) continue;
      this.ended.delete(key);
      purged++;
    }
    return purged;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
