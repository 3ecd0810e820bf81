import { streamKey } from '../state/session.js';
import { compile } from '../validate/validate.js';
import { snapshotSchema } from '../validate/schemas.js';
import { defineKind, keyNumber } from './kinds.js';

/** Screenshot (200): no `appid`, and `app`/`appname` only in newer samples. */
interface SnapshotEvent {
  app: string;
  appname: string;
  stream_id: string;
  create_time: number;
  pic_url?: string;
  pic_full_url?: string;
}

export const snapshot = defineKind<SnapshotEvent>({
  name: 'snapshot',
  validate: compile<SnapshotEvent>(snapshotSchema),
  // The push domain and path belong to the key: `pic_url` is only a path of date, stream name and time, the same
  // for a stream of that name under another domain at that second. `pic_full_url` names the bucket too.
  dedupKey: (e) =>
    `200\u0000${streamKey(e.app, e.appname, e.stream_id)}\u0000${e.pic_full_url || e.pic_url || ''}\u0000${keyNumber(e.create_time)}`,
  dedupTimeMs: (e) => e.create_time * 1000,
  domain: (e) => e.app,
  timeField: 'create_time',
  eventTimeMs: (e) => e.create_time * 1000,
  command: () => undefined,
  apply: (e, _result, { metrics }) => metrics.screenshotReported(e.app, e.appname),
});
