import { hashKey, streamKey, type Session, type SessionCommand } from '../../src/state/session.js';

/** One stream's push sessions, and the commands a store applies to them, for the session rules' tests. */
export const KEY = streamKey('push.example.com', 'live', 'room_1');

export function session(sequence: string, startedAt: number, lastSeenAt = 1000): Session {
  return { domain: 'push.example.com', appName: 'live', streamId: 'room_1', sequence, startedAt, lastSeenAt };
}

export const start = (s: Session): SessionCommand => ({
  op: 'start',
  session: s,
  endKey: hashKey(s.sequence),
});

export const stop = (sequence: string): SessionCommand => ({
  op: 'stop',
  key: KEY,
  sequence,
  endKey: hashKey(sequence),
});

export const touch = (at: number): SessionCommand => ({ op: 'touch', key: KEY, at });
