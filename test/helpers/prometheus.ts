// A real Prometheus (the Debian `prometheus` binary) for end-to-end tests, plus the small pieces every
// loopback daemon needs: a free port, a child process whose own PID is recorded, and polling with a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** A port that was free a moment ago on 127.0.0.1 (the daemons below retry when another process took it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Thrown by a probe to stop polling at once (e.g. the daemon it waits for has exited). */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

/**
 * Calls `probe` until it returns something other than undefined, or throws once `timeoutMs` passed, naming
 * `what` and the last error. Polls a condition; never waits for time itself to pass.
 */
export async function pollUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : `; last error: ${(lastError as Error).message}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** One long-running child started by a test: its own PID, its recent output, and a stop that kills only it. */
export class Daemon {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last ~20 kB of its stdout and stderr, for failure messages. */
  get logs(): string {
    return this.output;
  }

  /** SIGKILL to this PID alone (a test's data directory is thrown away, nothing to flush), then await exit. */
  async stop(): Promise<void> {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    await this.exited;
  }
}

/**
 * Spawns `command` directly (no shell, so the PID is the daemon's own) and resolves once `readyUrl` answers
 * 200. Rejects, after killing it, when it exits first or is not ready within `timeoutMs`.
 */
export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  /** Base URL, e.g. http://127.0.0.1:9090 */
  url: string;
  readyPath: string;
  /** The Debian package that installs `command`, named when it cannot run (default: `command`). */
  debianPackage?: string;
  timeoutMs?: number;
}

type DaemonClass<D extends Daemon> = new (name: string, child: ChildProcess, url: string) => D;

export async function startDaemon<D extends Daemon>(spec: DaemonSpec, Kind: DaemonClass<D>): Promise<D> {
  const { name, command, url, readyPath } = spec;
  const child = spawn(command, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) =>
      reject(
        new Error(
          `cannot run ${command}: ${error.message}. Install it: apt-get install -y --no-install-recommends ` +
            `${spec.debianPackage ?? command} (scripts/install-test-deps.sh does this in CI)`,
        ),
      ),
    );
  });
  await spawned;
  const daemon = new Kind(name, child, url);
  try {
    await pollUntil(`${name} ready at ${url}${readyPath}`, spec.timeoutMs ?? 15_000, async () => {
      if (!daemon.running) throw new GiveUp(`${name} exited early`);
      const response = await fetch(`${url}${readyPath}`);
      await response.arrayBuffer();
      return response.status === 200 ? true : undefined;
    });
  } catch (error) {
    await daemon.stop();
    throw new Error(`${(error as Error).message}\n${name} output:\n${daemon.logs}`, { cause: error });
  }
  return daemon;
}

/** Starts a daemon on a fresh free port, retrying twice when the port was taken in between. */
export async function onFreePort<D extends Daemon>(start: (port: number) => Promise<D>): Promise<D> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      lastError = error;
      if (!/address already in use/.test((error as Error).message)) throw error;
    }
  }
  throw lastError;
}

export interface PrometheusOptions {
  /** A directory of the test's own: config and TSDB go there. */
  dir: string;
  /** The whole prometheus.yml, as an object (written with the `yaml` package). */
  config: Record<string, unknown>;
}

export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as Prometheus writes it: "1", "NaN", "+Inf"] */
  value: [number, string];
}

export interface InstantResult {
  resultType: 'vector' | 'scalar' | 'matrix' | 'string';
  /** Vector samples; a scalar is given as one sample with no labels. */
  samples: PromSample[];
}

export class Prometheus extends Daemon {
  /** An instant query at the current time through the HTTP API; throws on a query error. */
  async query(expr: string): Promise<InstantResult> {
    const response = await fetch(`${this.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: expr }),
    });
    const answer = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: InstantResult['resultType']; result: unknown };
    };
    if (answer.status !== 'success' || !answer.data) {
      throw new Error(`query failed (${response.status}): ${answer.error ?? 'no data'}: ${expr}`);
    }
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') {
      return { resultType, samples: [{ metric: {}, value: result as [number, string] }] };
    }
    return { resultType, samples: result as PromSample[] };
  }

  /** Every loaded rule with its evaluation health ("ok", "err", "unknown") and last error, from /api/v1/rules. */
  async rules(): Promise<{ name: string; type: string; health: string; lastError?: string; file: string }[]> {
    const response = await fetch(`${this.url}/api/v1/rules`);
    const answer = (await response.json()) as {
      data: {
        groups: {
          file: string;
          rules: { name: string; type: string; health: string; lastError?: string }[];
        }[];
      };
    };
    return answer.data.groups.flatMap((group) => group.rules.map((rule) => ({ ...rule, file: group.file })));
  }

  /** The scrape targets and their health, from /api/v1/targets. */
  async targets(): Promise<{ scrapeUrl: string; health: string; labels: Record<string, string> }[]> {
    const response = await fetch(`${this.url}/api/v1/targets?state=active`);
    const answer = (await response.json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string; labels: Record<string, string> }[] };
    };
    return answer.data.activeTargets;
  }
}

/** A real Prometheus on 127.0.0.1 and a free port, ready (`/-/ready`) when this resolves. */
export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const configFile = join(options.dir, 'prometheus.yml');
  const storage = join(options.dir, 'tsdb');
  mkdirSync(storage, { recursive: true });
  writeFileSync(configFile, stringify(options.config));
  return onFreePort((port) =>
    startDaemon(
      {
        name: 'prometheus',
        command: 'prometheus',
        args: [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${storage}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        url: `http://127.0.0.1:${port}`,
        readyPath: '/-/ready',
      },
      Prometheus,
    ),
  );
}
