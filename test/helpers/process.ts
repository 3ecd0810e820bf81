import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningService {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly callbackUrl: string;
  readonly metricsUrl: string;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (or signal) once the process ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts the real service as `npm start` does (`node --import tsx src/main.ts`; or through `npm start` itself),
 * on ephemeral loopback ports, and resolves when it logs that it listens. The caller stops exactly this PID.
 */
export function startProcess(
  env: Record<string, string>,
  timeoutMs = 20_000,
  via: 'node' | 'npm start' = 'node',
): Promise<RunningService> {
  const [command, args] =
    via === 'node' ? [process.execPath, ['--import', 'tsx', 'src/main.ts']] : ['npm', ['start', '--silent']];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      TENCENT_LIVE_CALLBACK_LISTEN: '127.0.0.1:0',
      TENCENT_LIVE_METRICS_LISTEN: '127.0.0.1:0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Through npm, a process group of its own: the caller can stop npm and whatever it started at once.
    detached: via === 'npm start',
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not listen within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`service exited early with ${code}; stderr: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry['msg'] === 'listening') {
        clearTimeout(timer);
        resolve({
          child,
          pid: child.pid!,
          callbackUrl: String(entry['callback']),
          metricsUrl: String(entry['metrics']),
          logs,
          exited,
        });
      }
    });
  });
}
