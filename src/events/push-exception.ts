import { streamKey } from '../state/session.js';
import { exceptionIndex } from '../tencent/codes.js';
import { compile } from '../validate/validate.js';
import { pushExceptionSchema } from '../validate/schemas.js';
import { defineKind, keyNumber } from './kinds.js';

/** Push exception report (321), seeds 000–003: sent every `report_interval` ms while something is abnormal. */
interface PushExceptionEvent {
  domain: string;
  path: string;
  stream_id: string;
  sequence: string;
  /** ms */
  data_time: number;
  abnormal_event: { type: number; count: number }[];
}

const validate = compile<PushExceptionEvent>(pushExceptionSchema);
const keyOf = (e: PushExceptionEvent) => streamKey(e.domain, e.path, e.stream_id);
/** A live session's `lastSeenAt` is persisted at most once a minute: it only serves the maximum age. */
const PERSIST_SEEN_EVERY_MS = 60_000;

export const pushException = defineKind<PushExceptionEvent>({
  name: 'push_exception',
  validate,
  dedupKey: (e) => `321\u0000${keyOf(e)}\u0000${e.sequence}\u0000${keyNumber(e.data_time)}`,
  dedupTimeMs: (e) => e.data_time,
  domain: (e) => e.domain,
  timeField: 'data_time',
  eventTimeMs: (e) => e.data_time,
  command: (e, { liveSession, nowMs }) => {
    const key = keyOf(e);
    const session = liveSession(key);
    if (!session || nowMs - session.lastSeenAt < PERSIST_SEEN_EVERY_MS) return undefined;
    return { op: 'touch', key, at: nowMs };
  },
  apply: (e, _result, { metrics, nowMs }) => {
    metrics.exceptionReported(e.domain, e.path);
    // Count with `count` (occurrences within the interval), not with detail.length (PROTOCOL.md §3.2).
    const counts = e.abnormal_event.map(({ type, count }) => ({ index: exceptionIndex(type), count }));
    metrics.streams.addExceptions(keyOf(e), e.domain, e.path, e.stream_id, counts, nowMs);
  },
});
