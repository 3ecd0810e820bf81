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
  dedupKey: (e) =>
    `200\u0000${e.stream_id}\u0000${e.pic_url ?? e.pic_full_url}\u0000${keyNumber(e.create_time)}`,
  dedupTimeMs: (e) => e.create_time * 1000,
  domain: (e) => e.app,
  timeField: 'create_time',
  eventTimeMs: (e) => e.create_time * 1000,
  command: () => undefined,
  apply: (e, _result, { metrics }) => metrics.screenshotReported(e.app, e.appname),
});
