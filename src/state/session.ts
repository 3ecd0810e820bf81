import { md5Bytes, md5Into } from '../md5.js';

/**
 * One push session: a stream pushed from a start event until its disconnect. Tencent gives the start and the
 * disconnect of one push the same `sequence` (seed 004), so a session is keyed by stream and remembers it.
 */
export interface Session {
  readonly domain: string;
  readonly appName: string;
  readonly streamId: string;
  readonly sequence: string;
  /** `event_time` of the start, Unix seconds (Tencent's clock). */
  readonly startedAt: number;
  /** Arrival time (our clock, ms) of the latest news: the start, or an exception report. */
  readonly lastSeenAt: number;
}

/** Identity fields are validated free of control characters, so NUL separates them unambiguously. */
export function streamKey(domain: string, appName: string, streamId: string): string {
  return `${domain}\u0000${appName}\u0000${streamId}`;
}

export function sessionKey(session: Pick<Session, 'domain' | 'appName' | 'streamId'>): string {
  return streamKey(session.domain, session.appName, session.streamId);
}

/** A compact, fixed-size key for the de-duplication table (stream ids can be long). */
export function hashKey(text: string): Buffer {
  return md5Bytes(text);
}

/** The length of a `timedKey` (a `hashKey` has 16 bytes). */
export const TIMED_KEY_BYTES = 24;

/**
 * A de-duplication key that sorts by a time that is part of the event's identity (a 321 report's `data_time`):
 * 8 bytes of that time (ms, big-endian) before the 16 bytes of `hashKey(text)`. Keys are compared as bytes, so
 * the keys of events that happen together are neighbours in the store's B-tree: a batch of them dirties one or
 * two pages instead of one random page each, which the commit writes to the WAL and the checkpoint copies again
 * (docs/performance.md). A retry carries the same time, so it finds the same key.
 */
export function timedKey(timeMs: number, text: string): Buffer {
  const key = Buffer.allocUnsafe(TIMED_KEY_BYTES);
  writeTime(key, timeMs);
  md5Into(text, key, 8);
  return key;
}

/**
 * The 8 bytes a timed key starts with: every timed key of an earlier time sorts before them, every other after.
 * (A plain hash sorts before them only if its first bytes happen to be as small: about one in 40 000.)
 */
export function timePrefix(timeMs: number): Buffer {
  const prefix = Buffer.allocUnsafe(8);
  writeTime(prefix, timeMs);
  return prefix;
}

function writeTime(to: Buffer, timeMs: number): void {
  const ms = Number.isFinite(timeMs) ? Math.min(Math.max(0, Math.trunc(timeMs)), Number.MAX_SAFE_INTEGER) : 0;
  to.writeUInt32BE(Math.floor(ms / 0x1_0000_0000), 0);
  to.writeUInt32BE(ms % 0x1_0000_0000, 4);
}

export type SessionCommand =
  | {
      readonly op: 'start';
      readonly session: Session;
      /**
       * The record a disconnect of this push (same stream, same `sequence`) leaves when it comes first, finding no
       * session of its sequence to end: while it is stored, the start opens nothing.
       */
      readonly endKey: Buffer;
    }
  | {
      readonly op: 'stop';
      readonly key: string;
      readonly sequence: string;
      /**
       * The record this disconnect leaves when it ends no session (none, or one of another `sequence`), for a
       * start of its push that comes later: the same bytes as that start's `endKey`. A disconnect that ends its
       * session leaves none: a retry of that start is a duplicate of its own claim.
       */
      readonly endKey: Buffer;
    }
  | { readonly op: 'touch'; readonly key: string; readonly at: number };

export type StartResult = 'opened' | 'replaced' | 'refreshed' | 'stale' | 'already_ended' | 'refused';
export type StopResult = 'closed' | 'no_session' | 'stale_sequence';

export type SessionResult =
  | { readonly op: 'start'; readonly result: StartResult; readonly session: Session }
  | { readonly op: 'stop'; readonly result: StopResult; readonly ended?: Session }
  | { readonly op: 'touch'; readonly result: 'touched'; readonly session: Session }
  | { readonly op: 'touch'; readonly result: 'no_session' };

export interface Transition {
  readonly result: SessionResult;
  readonly put?: Session;
  readonly remove?: string;
}

/**
 * The session rules, as one pure function every store applies atomically with the de-duplication claim:
 * * a start opens a session, or replaces a live one of another `sequence` unless it is older (a late start);
 * * a start whose `sequence` already ended (its disconnect overtook it) opens nothing;
 * * a disconnect ends the session only when its `sequence` matches, so a late or duplicated disconnect of an
 *   older push cannot end a newer one; a disconnect with no session changes nothing;
 * * an exception report refreshes a live session's `lastSeenAt`;
 * * a start that would open a session while `full` (TENCENT_LIVE_MAX_SESSIONS, see SessionRoom) opens none.
 * Ordering of Tencent's callbacks is not documented (PROTOCOL.md §1): every rule holds in any order.
 */
export function transition(
  current: Session | undefined,
  command: SessionCommand,
  sequenceEnded: boolean,
  full = false,
): Transition {
  switch (command.op) {
    case 'start': {
      const next = command.session;
      if (sequenceEnded) return { result: { op: 'start', result: 'already_ended', session: next } };
      if (!current && full) return { result: { op: 'start', result: 'refused', session: next } };
      if (!current) return { result: { op: 'start', result: 'opened', session: next }, put: next };
      if (current.sequence === next.sequence) {
        const refreshed = { ...current, lastSeenAt: Math.max(current.lastSeenAt, next.lastSeenAt) };
        return { result: { op: 'start', result: 'refreshed', session: refreshed }, put: refreshed };
      }
      if (next.startedAt < current.startedAt)
        return { result: { op: 'start', result: 'stale', session: next } };
      return { result: { op: 'start', result: 'replaced', session: next }, put: next };
    }
    case 'stop': {
      if (!current) return { result: { op: 'stop', result: 'no_session' } };
      if (current.sequence !== command.sequence) return { result: { op: 'stop', result: 'stale_sequence' } };
      return { result: { op: 'stop', result: 'closed', ended: current }, remove: command.key };
    }
    case 'touch': {
      if (!current) return { result: { op: 'touch', result: 'no_session' } };
      const touched = { ...current, lastSeenAt: Math.max(current.lastSeenAt, command.at) };
      return { result: { op: 'touch', result: 'touched', session: touched }, put: touched };
    }
  }
}

/**
 * TENCENT_LIVE_MAX_SESSIONS through one batch. A store applies the batch's commands in order through `transition`,
 * which counts the sessions they open and close, starting from those live before the batch (the receiver's
 * mirror: batches commit one after another). So a start is refused only when the cap is reached at its place in
 * the batch: a duplicate, or a start of a push that already ended, takes no room, and a disconnect before it
 * in the same batch frees some.
 */
export class SessionRoom {
  constructor(
    private live: number,
    private readonly max: number,
  ) {}

  static unlimited(): SessionRoom {
    return new SessionRoom(0, Infinity);
  }

  transition(current: Session | undefined, command: SessionCommand, sequenceEnded: boolean): Transition {
    const next = transition(current, command, sequenceEnded, this.live >= this.max);
    if (next.result.result === 'opened') this.live++;
    else if (next.result.result === 'closed') this.live--;
    return next;
  }
}

/** What a store keeps of push sessions and of the ends of pushes, as `applySession` reads and writes it. */
export interface SessionRecords {
  get(key: string): Session | undefined;
  /** Whether a disconnect of this push left its record (`endKey`, see SessionCommand) that has not expired. */
  ended(endKey: Buffer): boolean;
  put(key: string, session: Session): void;
  remove(key: string): void;
  /** Leaves the record of a push's end, for a start of it that comes later. */
  markEnded(endKey: Buffer): void;
}

/**
 * One accepted event's change to the sessions, as every store applies it inside its transaction: the session
 * rules (`transition`) and the cap (`room`), over the store's own records.
 */
export function applySession(
  change: SessionCommand,
  records: SessionRecords,
  room: SessionRoom,
): SessionResult {
  const key = change.op === 'start' ? sessionKey(change.session) : change.key;
  // The disconnect of this push came first if it left its record (see SessionCommand).
  const sequenceEnded = change.op === 'start' && records.ended(change.endKey);
  const next = room.transition(records.get(key), change, sequenceEnded);
  if (next.put) records.put(key, next.put);
  if (next.remove !== undefined) records.remove(next.remove);
  if (change.op === 'stop' && next.result.op === 'stop' && next.result.result !== 'closed') {
    records.markEnded(change.endKey);
  }
  return next.result;
}
