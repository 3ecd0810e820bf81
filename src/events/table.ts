import type { EventKind } from './kinds.js';
import { pushException } from './push-exception.js';
import { pushStart, pushStop } from './push.js';
import { record } from './record.js';
import { snapshot } from './snapshot.js';

/**
 * `event_type` → its handler: the one place that routes. Adding a kind touches this table, one handler, one
 * fixture and one test. Any other `event_type` is acknowledged and counted as ignored (PROTOCOL.md §3).
 */
export const EVENT_KINDS: ReadonlyMap<number, EventKind<unknown>> = new Map([
  [1, pushStart],
  [0, pushStop],
  [321, pushException],
  [100, record],
  [200, snapshot],
]);
