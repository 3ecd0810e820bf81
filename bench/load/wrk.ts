import { join } from 'node:path';
import { spawnPinned, LOAD_CORE } from '../lib/proc.js';
import { ROOT } from '../lib/root.js';
import type { LoadResult } from './result.js';

const SCRIPT = join(ROOT, 'bench/load/wrk-bodies.lua');

export interface WrkOptions {
  readonly url: string;
  readonly bodiesFile: string;
  /** 0-based index of the first body to send. */
  readonly offset: number;
  readonly connections: number;
  readonly durationSeconds: number;
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Saturation load with Debian's `wrk` (closed loop: every connection sends its next request as soon as the
 * answer arrived), one thread on the load core. Errors are socket errors, timeouts and non-2xx answers.
 */
export async function runWrk(options: WrkOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const child = spawnPinned(
    'wrk',
    'wrk',
    [
      '-t1',
      `-c${options.connections}`,
      `-d${options.durationSeconds}s`,
      '--timeout',
      '5s',
      '-s',
      SCRIPT,
      `${url.protocol}//${url.host}`,
    ],
    {
      core: LOAD_CORE,
      env: {
        BENCH_BODIES: options.bodiesFile,
        BENCH_OFFSET: String(options.offset + 1),
        BENCH_PATH: url.pathname,
      },
    },
  );
  const { code } = await child.exited;
  const json = child.lines.find((line) => line.startsWith('{'));
  if (code !== 0 || json === undefined) {
    throw new Error(`wrk failed (exit ${code}): ${child.stderr()} ${child.lines.join('\n')}`);
  }
  const s = JSON.parse(json) as WrkSummary;
  const seconds = s.durationUs / 1e6;
  return {
    requests: s.requests,
    seconds,
    rate: s.requests / seconds,
    errors: s.connect + s.read + s.write + s.timeout + s.status,
    statuses: {},
    latencyMs: { p50: s.p50 / 1000, p99: s.p99 / 1000, p999: s.p999 / 1000, max: s.max / 1000 },
    // Requests still in flight when wrk stopped were sent (and processed) but not counted.
    consumed: s.requests + options.connections,
  };
}
