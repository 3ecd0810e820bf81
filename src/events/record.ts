import { compile } from '../validate/validate.js';
import { recordSchema } from '../validate/schemas.js';
import { defineKind } from './kinds.js';

/** Recording file (100). Legacy samples carry no `app`/`appname`: their labels are then empty. */
interface RecordEvent {
  app: string;
  appname: string;
  stream_id: string;
  file_id: string;
  end_time?: number;
}

export const record = defineKind<RecordEvent>({
  name: 'record',
  validate: compile<RecordEvent>(recordSchema),
  dedupKey: (e) => `100\u0000${e.stream_id}\u0000${e.file_id}`,
  domain: (e) => e.app,
  timeField: 'end_time',
  eventTimeMs: (e) => (e.end_time === undefined ? undefined : e.end_time * 1000),
  timeOnlyDescribes: true,
  command: () => undefined,
  apply: (e, _result, { metrics }) => metrics.recordingReported(e.app, e.appname),
});
