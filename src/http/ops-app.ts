import type { ServerResponse } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import type { ExporterMetrics } from '../metrics/metrics.js';
import { MAX_QUEUED_BYTES } from '../metrics/stream-series.js';

/**
 * Scrapes served at once; more get 503. Each holds up to MAX_QUEUED_BYTES of buffers and a share of the core:
 * Prometheus scrapes one at a time per target, so a few replicas or a person with curl fit.
 */
export const MAX_CONCURRENT_SCRAPES = 4;
/**
 * A scrape not read to its end by then is cut off and its slot freed: a scraper that stopped reading would hold
 * it for as long as TCP keeps the connection. Prometheus gives up after its scrape_timeout (10 s by default).
 */
export const SCRAPE_DEADLINE_MS = 60_000;

export interface OpsAppOptions {
  readonly metrics: Pick<ExporterMetrics, 'renderBytes' | 'recycle' | 'contentType' | 'scrapeFailed'>;
  /** True once state is loaded, while the store answers, and until shutdown begins. */
  readonly ready: () => boolean;
}

/** Resolves when the response can take more, or is gone (a scraper that hung up). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The private listener: `/metrics`, `/-/healthy` (the process runs), `/-/ready` (it can take callbacks). */
export function createOpsApp({ metrics, ready }: OpsAppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  app.silent = true;
  let serving = 0;
  router.get('/metrics', async (ctx) => {
    if (serving >= MAX_CONCURRENT_SCRAPES) {
      metrics.scrapeFailed('too_many');
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      ctx.body = `more than ${MAX_CONCURRENT_SCRAPES} scrapes at once\n`;
      return;
    }
    // Written here rather than through Koa: each chunk goes back to the renderer once the socket took it, so a
    // scrape of 100 000 streams reuses a few buffers (see StreamSeries.recycle). Chunks, never one giant string:
    // rendering must not hold the event loop. What the socket cannot take at once waits in its queue, up to
    // MAX_QUEUED_BYTES: waiting for `drain` after every chunk would end the renderer's time slice each time.
    ctx.respond = false;
    const res = ctx.res;
    serving++;
    const deadline = setTimeout(() => {
      metrics.scrapeFailed('deadline');
      res.destroy();
    }, SCRAPE_DEADLINE_MS);
    try {
      res.writeHead(200, { 'Content-Type': metrics.contentType });
      for await (const chunk of metrics.renderBytes()) {
        if (res.destroyed) break;
        res.write(chunk, () => metrics.recycle(chunk));
        if (res.writableLength >= MAX_QUEUED_BYTES) await drained(res);
      }
      res.end();
    } catch (error) {
      res.destroy(error as Error);
      ctx.app.emit('error', error, ctx);
    } finally {
      clearTimeout(deadline);
      serving--;
    }
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
