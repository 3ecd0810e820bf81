#!/usr/bin/env node
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type ListenAddress } from './config.js';
import { createLogger } from './log.js';
import { tuneV8 } from './runtime.js';
import { openStore } from './state/open-store.js';

/** How often sessions expire, per-stream series are swept and expired de-duplication keys are purged. */
const SWEEP_INTERVAL_MS = 10_000;

/** Start-up failures go to stderr whatever the log level, naming the variable to fix; exit code 2. */
function fail(message: string): never {
  process.stderr.write(`tencent-live-exporter: ${message}\n`);
  process.exit(2);
}

function listen(server: Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve(server.address() as AddressInfo));
  });
}

function url(info: AddressInfo, path: string): string {
  const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  return `http://${host}:${info.port}${path}`;
}

async function main(): Promise<void> {
  const v8Flags = tuneV8();
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    fail(error.message);
  }
  const log = createLogger(config.logLevel);
  let store;
  try {
    store = openStore(config.store);
  } catch (error) {
    fail((error as Error).message);
  }
  const app = createApp({ config, store, log, processMetrics: true });
  const started = performance.now();
  let sessions: number;
  try {
    sessions = await app.receiver.load();
  } catch (error) {
    const where = config.store.kind === 'sqlite' ? config.store.path : config.store.kind;
    fail(`TENCENT_LIVE_STORE: cannot load or write state in ${where}: ${(error as Error).message}`);
  }
  log.info({ sessions, ms: Math.round(performance.now() - started) }, 'state loaded');

  const callbackServer = createServer(app.callback.callback());
  const opsServer = createServer(app.ops.callback());
  // Tencent gives up after 5 s (321) or 20 s: nothing legitimate is slower; slow clients must not pile up.
  for (const server of [callbackServer, opsServer]) {
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
  }
  const listenOrFail = (server: Server, address: ListenAddress, name: string) =>
    listen(server, address).catch((error: Error) =>
      fail(`${name}: cannot listen on ${address.host}:${address.port}: ${error.message}`),
    );
  const callbackInfo = await listenOrFail(
    callbackServer,
    config.callbackListen,
    'TENCENT_LIVE_CALLBACK_LISTEN',
  );
  const opsInfo = await listenOrFail(opsServer, config.metricsListen, 'TENCENT_LIVE_METRICS_LISTEN');
  log.info(
    {
      callback: url(callbackInfo, config.callbackPath),
      metrics: url(opsInfo, '/metrics'),
      store: config.store.kind,
      keyCount: config.callbackKeys.length,
      unsigned: config.allowUnsigned,
      v8Flags,
    },
    'listening',
  );

  let sweeping: Promise<void> | undefined;
  const sweeper = setInterval(() => {
    sweeping ??= app.receiver.sweep().finally(() => (sweeping = undefined));
  }, SWEEP_INTERVAL_MS);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.beginShutdown();
    if (config.shutdownDelaySeconds > 0) {
      // Not ready any more, still taking callbacks: a load balancer that polls /-/ready stops sending first.
      log.info(
        { signal, delaySeconds: config.shutdownDelaySeconds },
        'shutting down: not ready, still serving',
      );
      await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
    }
    log.info({ signal }, 'shutting down: draining in-flight callbacks');
    clearInterval(sweeper);
    const force = setTimeout(() => {
      log.error('shutdown timed out; exiting with requests still open');
      // Every answered callback is committed already; closing checkpoints the WAL.
      void store.close().finally(() => process.exit(1));
    }, config.shutdownTimeoutSeconds * 1000);
    force.unref();
    // Stop accepting; in-flight requests finish; idle keep-alive sockets close.
    await new Promise((resolve) => callbackServer.close(resolve));
    await app.receiver.drain();
    await sweeping;
    await new Promise((resolve) => opsServer.close(resolve));
    await store.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`tencent-live-exporter: fatal: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
