import type Koa from 'koa';
import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { createCallbackApp } from './http/callback-app.js';
import { createOpsApp } from './http/ops-app.js';
import { ExporterMetrics } from './metrics/metrics.js';
import { Receiver } from './receiver.js';
import { systemClock, type Clock } from './state/clock.js';
import { SessionTable } from './state/session-table.js';
import type { StateStore } from './state/store.js';
import { packageVersion } from './version.js';

export interface AppDeps {
  readonly config: Config;
  readonly store: StateStore;
  readonly clock?: Clock;
  readonly log?: Logger;
  /** Node.js process metrics on /metrics (on in production). */
  readonly processMetrics?: boolean;
}

export interface ExporterApp {
  /** The public listener's app: callbacks only. */
  readonly callback: Koa;
  /** The private listener's app: metrics and health. */
  readonly ops: Koa;
  readonly receiver: Receiver;
  readonly metrics: ExporterMetrics;
  readonly sessions: SessionTable;
  /** /-/ready answers 503 from now on (load balancers stop sending). */
  readonly beginShutdown: () => void;
}

/** Builds both apps from their dependencies; never listens (main.ts does, tests use `app.callback()`). */
export function createApp(deps: AppDeps): ExporterApp {
  const { config, store } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? pino({ level: 'silent' });
  const sessions = new SessionTable();
  const metrics = new ExporterMetrics({
    version: packageVersion(),
    sessions,
    maxTrackedStreams: config.maxTrackedStreams,
    maxApps: config.maxApps,
    seriesGraceMs: config.seriesGraceSeconds * 1000,
    seriesIdleMs: config.seriesIdleSeconds * 1000,
    processMetrics: deps.processMetrics ?? false,
  });
  const receiver = new Receiver({ config, clock, store, metrics, sessions, log });
  let shuttingDown = false;
  const callback = createCallbackApp({
    receiver,
    path: config.callbackPath,
    bodyLimitBytes: config.bodyLimitBytes,
  });
  callback.on('error', (error: unknown) =>
    log.error({ err: error }, 'unexpected error in the callback listener'),
  );
  const ops = createOpsApp({ metrics, ready: () => receiver.loaded && !shuttingDown && receiver.storeUp });
  ops.on('error', (error: unknown) => log.error({ err: error }, 'unexpected error in the metrics listener'));
  return {
    callback,
    ops,
    receiver,
    metrics,
    sessions,
    beginShutdown: () => {
      shuttingDown = true;
    },
  };
}
