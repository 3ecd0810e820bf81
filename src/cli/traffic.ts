#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { TrafficGenerator, type CallbackKind } from '../traffic/generator.js';
import { sendBodies, type SendSummary } from '../traffic/sender.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  asUsageError,
  isEntryPoint,
  parseInteger,
  parsePositive,
  parseUrl,
  processIo,
  signingKey,
  run,
  type CliIo,
} from './common.js';

export const USAGE = `Usage: tencent-live-traffic --url URL [options]

Sends a realistic, reproducible mix of signed Tencent CSS callbacks (≈70 % push-exception reports,
≈25 % push starts/stops with coherent sequences, ≈5 % re-signed retries) and prints a summary.
Exits 0 when every request got HTTP 200, 1 otherwise, 2 on a usage error. Ctrl-C stops early.

  --url URL          receiver, e.g. http://127.0.0.1:8080/callback
  --key KEY          callback key; default: first key of TENCENT_LIVE_CALLBACK_KEYS
  --unsigned         send without t/sign
  --streams N        distinct streams (default 100)
  --rate R           requests per second (default 50)
  --duration S       stop after S seconds (default 60, or none when --count is given)
  --count N          stop after N requests
  --concurrency N    requests in flight at most (default 10)
  --seed N           PRNG seed; same seed ⇒ same scenario (default 1)
  -h, --help         show this help`;

export interface TrafficRun {
  summary: SendSummary;
  kinds: Record<string, number>;
}

export function formatSummary(url: URL, run: TrafficRun): string {
  const { summary, kinds } = run;
  const seconds = summary.elapsedMs / 1000;
  const list = (counts: Record<string, number>) =>
    Object.entries(counts)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  return [
    `sent ${summary.sent} callbacks to ${url.href} in ${seconds.toFixed(1)} s (${(summary.sent / Math.max(seconds, 0.001)).toFixed(1)}/s)`,
    `kinds: ${list(kinds)}`,
    `statuses: ${list(summary.statuses)}`,
    `errors: ${list(summary.errors)}`,
    `latency ms: p50 ${summary.latencyMs.p50.toFixed(1)}, p99 ${summary.latencyMs.p99.toFixed(1)}, max ${summary.latencyMs.max.toFixed(1)}`,
  ].join('\n');
}

export async function main(argv: string[], io: CliIo = processIo, signal?: AbortSignal): Promise<number> {
  let url: URL;
  let generator: TrafficGenerator;
  let limits: { count?: number; durationMs?: number; rate: number; concurrency: number };
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        key: { type: 'string' },
        unsigned: { type: 'boolean', default: false },
        streams: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    url = parseUrl('--url', values.url);
    const key = signingKey(values, io.env);
    const count = parseInteger('--count', values.count, 1);
    const durationSeconds =
      parsePositive('--duration', values.duration) ?? (count === undefined ? 60 : undefined);
    limits = {
      count,
      durationMs: durationSeconds === undefined ? undefined : durationSeconds * 1000,
      rate: parsePositive('--rate', values.rate) ?? 50,
      concurrency: parseInteger('--concurrency', values.concurrency, 1, 10_000) ?? 10,
    };
    generator = new TrafficGenerator({
      key,
      seed: parseInteger('--seed', values.seed, 0, 2 ** 32 - 1) ?? 1,
      streams: parseInteger('--streams', values.streams, 1, 1_000_000) ?? 100,
      now: io.now,
    });
  } catch (error) {
    const usage = asUsageError(error);
    if (usage === undefined) throw error;
    io.stderr(`tencent-live-traffic: ${usage.message}\nTry --help.`);
    return EXIT_USAGE;
  }

  const kinds: Record<string, number> = {};
  const summary = await sendBodies({
    url,
    ...limits,
    signal,
    bodies: () => {
      const callback = generator.next();
      const kind: CallbackKind | 'retry' = callback.retry ? 'retry' : callback.kind;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      return callback.body;
    },
  });
  io.stdout(formatSummary(url, { summary, kinds }));
  const all200 = summary.sent > 0 && Object.keys(summary.errors).length === 0;
  return all200 && Object.keys(summary.statuses).every((s) => s === '200') ? EXIT_OK : EXIT_FAILED;
}

if (isEntryPoint(import.meta.url)) {
  // Ctrl-C / `docker stop`: stop sending and still print the summary.
  const controller = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort());
  run((argv) => main(argv, processIo, controller.signal));
}
