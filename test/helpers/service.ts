import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type ExporterApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { ManualClock } from '../../src/state/clock.js';
import { openStore } from '../../src/state/open-store.js';
import type { StateStore } from '../../src/state/store.js';
import { signPayload } from '../../src/verify/sign.js';
import { Scrape } from './metrics-text.js';

export const KEY = 'test-key';
export const OLD_KEY = 'old-key';
/** 2026-11-22T08:00:00Z: tests move this clock, never wait for time to pass. */
export const T0 = Date.UTC(2026, 10, 22, 8, 0, 0);

export interface Reply {
  readonly status: number;
  readonly body: { code: number; reason?: string; field?: string; message?: string };
}

export interface TestService {
  readonly app: ExporterApp;
  readonly config: Config;
  readonly clock: ManualClock;
  readonly store: StateStore;
  readonly callbackUrl: string;
  readonly metricsUrl: string;
  readonly dir: string;
  /** POSTs a raw body (string) or a JSON value as is. */
  post(body: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** POSTs a payload signed as Tencent does, with `t` = now + 600 s on the test clock. */
  postSigned(payload: object, key?: string): Promise<Reply>;
  scrape(): Promise<Scrape>;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });
}

/**
 * The real service (both listeners, real SQLite file, real HTTP on 127.0.0.1) with a manual clock.
 * `env` overrides the defaults; `dir` reuses a state directory (restarts).
 */
export async function startService(env: Record<string, string> = {}, dir?: string): Promise<TestService> {
  const stateDir = dir ?? mkdtempSync(join(tmpdir(), 'tle-test-'));
  const config = loadConfig({
    TENCENT_LIVE_CALLBACK_KEYS: `${KEY},${OLD_KEY}`,
    TENCENT_LIVE_STORE: `sqlite:${join(stateDir, 'state.db')}`,
    ...env,
  });
  const clock = new ManualClock(T0);
  const store = openStore(config.store);
  const app = createApp({ config, store, clock });
  await app.receiver.load();
  const callbackServer = createServer(app.callback.callback());
  const opsServer = createServer(app.ops.callback());
  const callbackUrl = `${await listen(callbackServer)}${config.callbackPath}`;
  const metricsUrl = `${await listen(opsServer)}/metrics`;

  const post = async (body: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const response = await fetch(callbackUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Reply['body'] };
  };
  return {
    app,
    config,
    clock,
    store,
    callbackUrl,
    metricsUrl,
    dir: stateDir,
    post,
    postSigned: (payload, key = KEY) => post(signPayload(payload, key, clock.now() / 1000)),
    scrape: async () => new Scrape(await (await fetch(metricsUrl)).text()),
    close: async () => {
      callbackServer.closeAllConnections();
      opsServer.closeAllConnections();
      await new Promise((resolve) => callbackServer.close(resolve));
      await new Promise((resolve) => opsServer.close(resolve));
      await store.close();
      if (!dir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
