import { Readable } from 'node:stream';
import Router from '@koa/router';
import Koa from 'koa';
import type { ExporterMetrics } from '../metrics/metrics.js';

export interface OpsAppOptions {
  readonly metrics: ExporterMetrics;
  /** True once state is loaded, while the store answers, and until shutdown begins. */
  readonly ready: () => boolean;
}

/** The private listener: `/metrics`, `/-/healthy` (the process runs), `/-/ready` (it can take callbacks). */
export function createOpsApp({ metrics, ready }: OpsAppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  app.silent = true;
  router.get('/metrics', (ctx) => {
    ctx.type = metrics.contentType;
    // Streamed in chunks: rendering 100 000 streams must not hold the event loop or one giant string.
    ctx.body = Readable.from(metrics.renderBytes(), { objectMode: false });
  });
  router.get('/-/healthy', (ctx) => {
    ctx.body = 'OK\n';
  });
  router.get('/-/ready', (ctx) => {
    const isReady = ready();
    ctx.status = isReady ? 200 : 503;
    ctx.body = isReady ? 'Ready\n' : 'Not ready\n';
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
