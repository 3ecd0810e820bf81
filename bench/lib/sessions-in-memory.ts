import { sessionKey, SessionRoom, type Session } from '../../src/state/session.js';
import type { Command, CommandResult, StateStore } from '../../src/state/store.js';

/**
 * A store for the bench's "service in memory" baseline (bench/baselines/service-in-memory.ts): push sessions in
 * memory, opened, ended and expired by the store's own rules (`transition`), but no de-duplication key kept (every
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

  async apply(
    commands: readonly Command[],
    nowMs: number,
    keyTtlMs: number,
    room = SessionRoom.unlimited(),
  ): Promise<CommandResult[]> {
    return commands.map(({ session: change }) => {
      if (!change) return { duplicate: false };
      const key = change.op === 'start' ? sessionKey(change.session) : change.key;
      const sequenceEnded =
        change.op === 'start' && (this.ended.get(change.endKey.toString('latin1')) ?? 0) > nowMs;
      const next = room.transition(this.sessions.get(key), change, sequenceEnded);
      if (next.put) this.sessions.set(key, next.put);
      if (next.remove !== undefined) this.sessions.delete(next.remove);
      if (change.op === 'stop' && next.result.op === 'stop' && next.result.result !== 'closed')
        this.ended.set(change.endKey.toString('latin1'), nowMs + keyTtlMs);
      return { duplicate: false, session: next.result };
    });
  }

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
