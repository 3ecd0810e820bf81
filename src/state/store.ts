import type { Session, SessionCommand, SessionResult, SessionRoom } from './session.js';

export type StoreName = 'sqlite' | 'redis';

/** One accepted event, as the store sees it: its de-duplication key and what it does to the sessions. */
export interface Command {
  readonly dedupKey: Buffer;
  readonly session?: SessionCommand;
}

export type CommandResult =
  { readonly duplicate: true } | { readonly duplicate: false; readonly session?: SessionResult };

/**
 * Durable state: push sessions and de-duplication keys. `apply` is atomic per batch: either every command's
 * key is claimed and its session change written, or nothing is and the promise rejects (the receiver then
 * answers 503, Tencent retries, nothing is lost). A Redis store for several replicas implements the same.
 */
export interface StateStore {
  readonly name: StoreName;
  loadSessions(): Promise<Session[]>;
  /** `room` applies TENCENT_LIVE_MAX_SESSIONS to the batch's starts (unlimited when not given). */
  apply(
    commands: readonly Command[],
    nowMs: number,
    keyTtlMs: number,
    room?: SessionRoom,
  ): Promise<CommandResult[]>;
  /**
   * Deletes and returns the sessions of these streams whose `lastSeenAt` is before `cutoffMs` (a stream that
   * started again or reported meanwhile keeps its session). The caller finds them in its memory mirror, which
   * holds the same `lastSeenAt`: the store keeps no index on it, which every start and stop paid for.
   */
  expireSessions(keys: readonly string[], cutoffMs: number): Promise<Session[]>;
  /**
   * Forgets de-duplication keys that expired (`keyTtlMs`: the TTL they were claimed with); returns how many. A key may outlive its expiry until a later purge,
   * never the other way round: a key that expired counts as new again whether it was purged or not.
   */
  purgeExpiredKeys(nowMs: number, keyTtlMs: number): Promise<number>;
  /** Rejects when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
