import { createServer } from 'node:http';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tuneV8 } from '../../src/runtime.js';
import type { StateStore } from '../../src/state/store.js';
import { BENCH_KEY } from '../lib/bodies.js';
import { MAX_TRACKED_STREAMS } from '../lib/service.js';
import { listenAndAnnounce } from './listen.js';

/**
 * The service with a store that keeps nothing: every event is new, no push session opens, nothing is written.
 * Everything else is the service's own code (verify, validate, key, metrics, group commit, the Koa app), so
 * bare Koa against this shows what that costs, and this against the service what the durable store costs,
 * measured in every run (docs/performance.md, "The store at saturation, over HTTP"). No configuration of the
 * service does this: it would answer 200 for events it then forgot.
 */
const keepsNothing: StateStore = {
  name: 'sqlite',
  loadSessions: async () => [],
  apply: async (commands) => commands.map(() => ({ duplicate: false })),
  expireSessions: async () => [],
  purgeExpiredKeys: async () => 0,
  ping: async () => undefined,
  close: async () => undefined,
};

tuneV8();
const config = loadConfig({
  TENCENT_LIVE_CALLBACK_KEYS: BENCH_KEY,
  TENCENT_LIVE_MAX_TRACKED_STREAMS: String(MAX_TRACKED_STREAMS),
});
const app = createApp({ config, store: keepsNothing, processMetrics: true });
await app.receiver.load();
listenAndAnnounce(createServer(app.callback.callback()));
