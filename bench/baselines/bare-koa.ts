import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { listenAndAnnounce } from './listen.js';

/**
 * The framework the service is built on, doing nothing else: Koa + @koa/router + koa-bodyparser with the
 * service's parser options (src/http/callback-app.ts), one POST route that answers {"code":0}. The service's
 * target is ≥ 0.85 × this: our own work (verify, validate, de-duplicate, durable state, metrics) may cost at
 * most 15 % on top of the framework.
 */
const app = new Koa();
const router = new Router();
app.silent = true;
router.post(
  '/callback',
  bodyParser({ enableTypes: ['json'], detectJSON: () => true, jsonLimit: '65536b', strict: true }),
  (ctx) => {
    ctx.body = { code: 0 };
  },
);
app.use(router.routes());
listenAndAnnounce(createServer(app.callback()));
