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
 * What a push's start and disconnect both know of it: the stream and the `sequence`, no time. The disconnect
 * leaves a record under its hash when it finds no session of that sequence to end (`endKey`), and the start of
 * the same push looks for it without knowing when the disconnect happened. Its bytes are those of the plain
 * hashed key the disconnect itself claimed in earlier versions, which a store opened by an upgrade still looks up.
 */
const endText = (e: PushEvent) => `0\u0000${keyOf(e)}\u0000${e.sequence}`;

/**
 * Both push kinds' keys carry their `event_time` (a retry carries the same) and are ordered by it, like those of
 * 321 reports: a batch of them dirties one page of the key table instead of one random page each.
 */
const common = {
  validate,
  dedupTimeMs: (e: PushEvent) => e.event_time * 1000,
  domain: (e: PushEvent) => e.app,
  timeField: 'event_time',
  eventTimeMs: (e: PushEvent) => e.event_time * 1000,
};

export const pushStart = defineKind<PushEvent>({
  ...common,
  name: 'push_start',
  dedupKey: (e) => `1\u0000${keyOf(e)}\u0000${e.sequence}\u0000${keyNumber(e.event_time)}`,
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
    endKey: hashKey(endText(e)),
  }),
  apply: (e, _result, { metrics }) => metrics.streamStarted(e.app, e.appname),
});

export const pushStop = defineKind<PushEvent>({
  ...common,
  name: 'push_stop',
  dedupKey: (e) => `${endText(e)}\u0000${keyNumber(e.event_time)}`,
  command: (e) => ({ op: 'stop', key: keyOf(e), sequence: e.sequence, endKey: hashKey(endText(e)) }),
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
