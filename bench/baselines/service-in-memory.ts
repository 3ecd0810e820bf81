import { createServer } from 'node:http';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { tuneV8 } from '../../src/runtime.js';
import { BENCH_KEY } from '../lib/bodies.js';
import { MAX_TRACKED_STREAMS } from '../lib/service.js';
import { SessionsInMemory } from '../lib/sessions-in-memory.js';
import { listenAndAnnounce } from './listen.js';

/**
 * The service with its push sessions in memory and nothing durable (`SessionsInMemory`). Everything else is the
 * service's own code (verify, validate, key, sessions, metrics, group commit, upkeep, the Koa app), so bare Koa
 * against this shows what that costs, and this against the service what the durable store costs, measured in
 * every run (docs/performance.md, "Memory instead of SQLite").
 */
tuneV8();
const config = loadConfig({
  TENCENT_LIVE_CALLBACK_KEYS: BENCH_KEY,
  TENCENT_LIVE_MAX_TRACKED_STREAMS: String(MAX_TRACKED_STREAMS),
});
const app = createApp({ config, store: new SessionsInMemory(), processMetrics: true });
await app.receiver.load();
// The upkeep, as main.ts runs it: sessions expire, per-stream series are swept.
let sweeping: Promise<void> | undefined;
setInterval(() => {
  sweeping ??= app.receiver.sweep().finally(() => (sweeping = undefined));
}, 10_000).unref();
listenAndAnnounce(createServer(app.callback.callback()));
