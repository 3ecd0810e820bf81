import { getMaxListeners, setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Sends callback bodies by HTTP POST: bounded concurrency, bounded count and/or duration, optional rate. */

export interface PostResult {
  status: number;
  body: string;
}

export interface PostOptions {
  /** Per-request timeout; Tencent itself gives up after 20 s (PROTOCOL.md §1). Default 20 000. */
  timeoutMs?: number;
  agent?: http.Agent;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** POSTs one JSON body and resolves with the answer's status and body text. Rejects on network errors. */
export function postBody(url: string | URL, body: string, options: PostOptions = {}): Promise<PostResult> {
  const target = typeof url === 'string' ? new URL(url) : url;
  const client = target.protocol === 'https:' ? https : http;
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        agent: options.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': String(payload.length),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 20_000,
        signal: options.signal,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })),
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export interface SendOptions {
  url: string | URL;
  /** A fixed list (cycled when `count` or `durationMs` asks for more), or a source called per request
   * (return undefined to stop). */
  bodies: readonly string[] | ((index: number) => string | undefined);
  /** Requests in flight at most; default 10. */
  concurrency?: number;
  /** Stop after this many requests. Default: the list's length when `bodies` is a list and no duration is set. */
  count?: number;
  /** Stop starting new requests after this long. */
  durationMs?: number;
  /** Requests started per second, over all workers; default unlimited. */
  rate?: number;
  timeoutMs?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called after each answer or error, e.g. for progress output. */
  onResult?: (result: { index: number; status?: number; error?: string; latencyMs: number }) => void;
}

export interface SendSummary {
  /** Requests that got an answer or an error. */
  sent: number;
  /** Answers by HTTP status, e.g. { "200": 950, "401": 50 }. */
  statuses: Record<string, number>;
  /** Failures without an answer, by error code (ECONNREFUSED, ETIMEDOUT, …). */
  errors: Record<string, number>;
  elapsedMs: number;
  latencyMs: { p50: number; p99: number; max: number };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
}

/** Sends bodies until the count, the duration, the source or the signal says stop; never rejects on HTTP errors. */
export async function sendBodies(options: SendOptions): Promise<SendSummary> {
  const { bodies, rate, durationMs } = options;
  const concurrency = options.concurrency ?? 10;
  positive('concurrency', concurrency);
  positive('rate', rate);
  positive('durationMs', durationMs);
  if (options.count !== undefined && !(Number.isInteger(options.count) && options.count >= 0)) {
    throw new RangeError(`count must be a non-negative integer, got ${options.count}`);
  }
  const isList = typeof bodies !== 'function';
  if (isList && bodies.length === 0) throw new RangeError('bodies must not be empty');
  const count = options.count ?? (isList && durationMs === undefined ? bodies.length : Infinity);
  if (count === Infinity && durationMs === undefined) {
    throw new RangeError('give count or durationMs to bound a run from a body source');
  }
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  // Every request in flight listens on the abort signal (and so does each wait for the rate): room for all of
  // them, or Node.js warns of a listener leak from 11 on.
  const { signal } = options;
  if (signal) setMaxListeners(Math.max(getMaxListeners(signal), 2 * Math.ceil(concurrency) + 10), signal);
  const agent = new (url.protocol === 'https:' ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: Math.ceil(concurrency),
  });
  const statuses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = durationMs === undefined ? Infinity : started + durationMs;
  let next = 0;
  let sent = 0;
  let exhausted = false;

  const stopped = () => exhausted || options.signal?.aborted === true || performance.now() >= deadline;

  async function worker(): Promise<void> {
    for (;;) {
      if (stopped() || next >= count) return;
      const index = next++;
      if (rate !== undefined) {
        const due = started + (index * 1000) / rate;
        if (due >= deadline) return;
        const wait = due - performance.now();
        if (wait > 0) {
          try {
            await sleep(wait, undefined, { signal: options.signal });
          } catch {
            return; // aborted
          }
        }
        if (stopped()) return;
      }
      const body = isList ? bodies[index % bodies.length] : bodies(index);
      if (body === undefined) {
        exhausted = true;
        return;
      }
      const t0 = performance.now();
      try {
        const answer = await postBody(url, body, {
          agent,
          timeoutMs: options.timeoutMs,
          headers: options.headers,
          signal: options.signal,
        });
        const latencyMs = performance.now() - t0;
        latencies.push(latencyMs);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        options.onResult?.({ index, status: answer.status, latencyMs });
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name ?? 'Error';
        errors[code] = (errors[code] ?? 0) + 1;
        options.onResult?.({ index, error: code, latencyMs: performance.now() - t0 });
      }
      sent++;
    }
  }

  try {
    await Promise.all(Array.from({ length: Math.ceil(concurrency) }, () => worker()));
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  return {
    sent,
    statuses,
    errors,
    elapsedMs: performance.now() - started,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1] ?? 0,
    },
  };
}
