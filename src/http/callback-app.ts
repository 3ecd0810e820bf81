import Router from '@koa/router';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { OK, type Answer, type Receiver } from '../receiver.js';

export interface CallbackAppOptions {
  readonly receiver: Receiver;
  readonly path: string;
  readonly bodyLimitBytes: number;
}

interface BodyError extends Error {
  status?: number;
  type?: string;
}

/** Why koa-bodyparser could not read a body (raw-body's `type`, inflation's 415, a zlib error), in words. */
function unreadable(error: BodyError): string {
  if (error.type === 'request.aborted') return 'the request was aborted before its body was read';
  if (error.type === 'request.size.invalid')
    return 'the body does not have the length its Content-Length says';
  if (error.status === 415) return "the body's Content-Encoding is not supported";
  if (error.name !== 'SyntaxError') return 'the body could not be decoded as its Content-Encoding says';
  // Refused by the parser, so that a key cannot set the parsed object's prototype.
  if (error.message.includes('prototype')) return 'the body has a "__proto__" key';
  return 'the body is not valid JSON';
}

/** `{"code":0}`, encoded once: nearly every answer is this one. */
const OK_BYTES = Buffer.from(JSON.stringify(OK.body));

function send(ctx: Koa.Context, answer: Answer): void {
  ctx.status = answer.status;
  if (answer === OK) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = OK_BYTES;
  } else {
    ctx.body = answer.body;
  }
}

/**
 * The public listener: one `POST` path for every event kind, nothing else but 404. The body is parsed as
 * JSON whatever the Content-Type says (only Tencent's legacy page states application/json, PROTOCOL.md §1).
 */
export function createCallbackApp({ receiver, path, bodyLimitBytes }: CallbackAppOptions): Koa {
  const app = new Koa();
  const router = new Router();
  app.silent = true;

  const parseBody = bodyParser({
    enableTypes: ['json'],
    detectJSON: () => true,
    jsonLimit: `${bodyLimitBytes}b`,
    strict: true,
    onerror: (error: BodyError, ctx: Koa.Context) => {
      const tooLarge = error.status === 413 || error.type === 'entity.too.large';
      const answer = receiver.reject(
        'unknown',
        tooLarge ? 'body_too_large' : 'malformed_json',
        ctx.state['startedMs'] as number,
        '(body)',
        tooLarge ? `the body exceeds ${bodyLimitBytes} bytes` : unreadable(error),
      );
      // Thrown to stop the route; the error handler below sends it.
      throw Object.assign(new Error(answer.body.message), { answer, expose: true });
    },
  });

  router.post(path, parseBody, async (ctx) => {
    const raw = (ctx.request as { rawBody?: string }).rawBody;
    if (raw === undefined || raw.trim() === '') {
      send(
        ctx,
        receiver.reject('unknown', 'malformed_json', ctx.state['startedMs'], '(body)', 'the body is empty'),
      );
      return;
    }
    send(ctx, await receiver.handle(ctx.request.body, ctx.state['startedMs']));
  });
  router.all(path, (ctx) => {
    ctx.set('Allow', 'POST');
    send(
      ctx,
      receiver.reject('unknown', 'method_not_allowed', ctx.state['startedMs'], undefined, 'use POST'),
    );
  });

  app.use(async (ctx, next) => {
    ctx.state['startedMs'] = performance.now();
    try {
      await next();
    } catch (error) {
      const answer = (error as { answer?: Answer }).answer;
      if (answer) return send(ctx, answer);
      // Never leak an internal message (koa: 5xx messages do not reach the client).
      ctx.app.emit('error', error, ctx);
      send(ctx, { status: 500, body: { code: 500, reason: 'internal_error' } });
    }
  });
  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { code: 404, reason: 'not_found' };
  });
  return app;
}
