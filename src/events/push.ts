import { hashKey, streamKey } from '../state/session.js';
import { compile } from '../validate/validate.js';
import { pushSchema } from '../validate/schemas.js';
import { defineKind, keyNumber } from './kinds.js';

/** Push started (1) / push interrupted (0), seed 004. `app` is the push domain, `appname` the push path. */
interface PushEvent {
  event_type: 0 | 1;
  app: string;
  appname: string;
  stream_id: string;
  sequence: string;
  event_time: number;
  errcode: number;
  /** Disconnects only; Tencent sends it as a string of milliseconds (ajv coerces it). */
  push_duration?: number;
}

const validate = compile<PushEvent>(pushSchema);
const keyOf = (e: PushEvent) => streamKey(e.app, e.appname, e.stream_id);
/**
 * A disconnect's de-duplication key text: the stream and the `sequence`, no time, so that the start of the same
 * push finds the key (`stopKey`) without knowing when the disconnect happened. It is therefore hashed, not
 * ordered by time: a disconnect must never get a `dedupTimeMs`.
 */
const stopText = (e: PushEvent) => `0\u0000${keyOf(e)}\u0000${e.sequence}`;

export const pushStart = defineKind<PushEvent>({
  name: 'push_start',
  validate,
  // With its `event_time` (a retry carries the same), so that the keys of starts are ordered by time like those
  // of 321 reports: a batch of them dirties one page of the key table instead of one random page each.
  dedupKey: (e) => `1\u0000${keyOf(e)}\u0000${e.sequence}\u0000${keyNumber(e.event_time)}`,
  dedupTimeMs: (e) => e.event_time * 1000,
  domain: (e) => e.app,
  timeField: 'event_time',
  eventTimeMs: (e) => e.event_time * 1000,
  command: (e, { nowMs }) => ({
    op: 'start',
    session: {
      domain: e.app,
      appName: e.appname,
      streamId: e.stream_id,
      sequence: e.sequence,
      startedAt: e.event_time,
      lastSeenAt: nowMs,
    },
    stopKey: hashKey(stopText(e)),
  }),
  apply: (e, _result, { metrics }) => metrics.streamStarted(e.app, e.appname),
});

export const pushStop = defineKind<PushEvent>({
  name: 'push_stop',
  validate,
  dedupKey: stopText,
  domain: (e) => e.app,
  timeField: 'event_time',
  eventTimeMs: (e) => e.event_time * 1000,
  command: (e) => ({ op: 'stop', key: keyOf(e), sequence: e.sequence }),
  apply: (e, result, { metrics }) => {
    metrics.streamDisconnected(e.app, e.appname, e.errcode);
    const session = result.session;
    if (session?.op !== 'stop') return;
    // Tencent's own push_duration describes the push whether or not we knew its start (a quick reconnect, a
    // session expired by age, a restart); without it, only a matched session gives a duration.
    if (e.push_duration !== undefined) {
      metrics.pushEnded(e.app, e.appname, e.push_duration / 1000);
    } else if (session.ended) {
      metrics.pushEnded(e.app, e.appname, Math.max(0, e.event_time - session.ended.startedAt));
    }
    if (session.result !== 'closed') metrics.disconnectUnmatched(e.app, e.appname, session.result);
  },
});
