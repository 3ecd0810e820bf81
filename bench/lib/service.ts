import { BENCH_KEY } from './bodies.js';
import { SERVICE_CORE, spawnPinned, untilStatus, waitFor, type Child } from './proc.js';
import { nodeArgs, ROOT } from './root.js';

export interface RunningTarget extends Child {
  /** POST here. */
  readonly url: string;
}

export interface RunningService extends RunningTarget {
  readonly metricsUrl: string;
  readonly readyUrl: string;
  /** From spawning the process to the first 200 from /-/ready. */
  readonly readyMs: number;
  /** The service's own log: sessions loaded from the store and how long that took. */
  readonly loaded: { sessions: number; ms: number };
}

/** The bench's cap on tracked streams: above the 100 000 streams of the scrape scenario (default 50 000). */
export const MAX_TRACKED_STREAMS = 200_000;

function logEntry(target: Child, message: string): Record<string, unknown> | undefined {
  for (const line of target.lines) {
    if (!line.includes(`"msg":"${message}"`)) continue;
    return JSON.parse(line) as Record<string, unknown>;
  }
  return undefined;
}

/**
 * Starts the service as production does (`node dist/src/main.js`; from source through tsx in the smoke test)
 * on the service core, with a SQLite store at `storePath`, and waits until /-/ready answers 200.
 */
export async function startService(
  storePath: string,
  env: Record<string, string> = {},
): Promise<RunningService> {
  const started = performance.now();
  // BENCH_SERVICE_FLAGS: extra Node.js flags for the service, to diagnose a run, e.g.
  // "--cpu-prof --cpu-prof-dir=/tmp/prof" (summarise with `node dist/bench/profile-summary.js <file>`).
  const flags = (process.env['BENCH_SERVICE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const child = spawnPinned('service', process.execPath, [...flags, ...nodeArgs('src/main')], {
    core: SERVICE_CORE,
    cwd: ROOT,
    env: {
      TENCENT_LIVE_CALLBACK_KEYS: BENCH_KEY,
      TENCENT_LIVE_STORE: `sqlite:${storePath}`,
      TENCENT_LIVE_CALLBACK_LISTEN: '127.0.0.1:0',
      TENCENT_LIVE_METRICS_LISTEN: '127.0.0.1:0',
      TENCENT_LIVE_LOG_LEVEL: 'info',
      TENCENT_LIVE_MAX_TRACKED_STREAMS: String(MAX_TRACKED_STREAMS),
      ...env,
    },
  });
  const listening = await waitFor(
    'its "listening" log line',
    child,
    () => logEntry(child, 'listening'),
    60_000,
    2,
  );
  const metricsUrl = String(listening['metrics']);
  const readyUrl = metricsUrl.replace(/\/metrics$/, '/-/ready');
  const readyMs = await untilStatus(child, readyUrl, 200, started);
  const loaded = logEntry(child, 'state loaded') ?? {};
  return {
    ...child,
    url: String(listening['callback']),
    metricsUrl,
    readyUrl,
    readyMs,
    loaded: { sessions: Number(loaded['sessions']), ms: Number(loaded['ms']) },
  };
}

/** Starts a baseline server (bench/baselines/<name>) on the service core. */
export async function startBaseline(
  name: 'raw-http' | 'bare-koa' | 'service-in-memory',
): Promise<RunningTarget> {
  const child = spawnPinned(name, process.execPath, nodeArgs(`bench/baselines/${name}`), {
    core: SERVICE_CORE,
    cwd: ROOT,
  });
  const line = await waitFor(
    'its URL',
    child,
    () => child.lines.find((l) => l.includes('"listening"')),
    60_000,
  );
  return { ...child, url: `${(JSON.parse(line) as { listening: string }).listening}/callback` };
}
