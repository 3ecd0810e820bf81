import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Child processes of the bench: spawned pinned to a core with `taskset`, stopped by their own PID only, and
 * measured from /proc (RSS, CPU time) rather than from inside, so the same numbers apply to every target.
 */

/** Cores online (not those this process may use: the harness itself runs pinned to the load core). */
export const CORES = cpus().length;
/** The service and the baselines run on core 0; load, scrapes and the harness on core 1 (if there is one). */
export const SERVICE_CORE = 0;
export const LOAD_CORE = CORES > 1 ? 1 : 0;

export interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout line, as received (the service logs JSON lines). */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export interface SpawnOptions {
  readonly core: number;
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

/** Starts `command args…` under `taskset -c <core>`; stdout lines are collected, stderr kept for errors. */
export function spawnPinned(name: string, command: string, args: string[], options: SpawnOptions): Child {
  const child = spawn('taskset', ['-c', String(options.core), command, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // taskset execs the command, so this PID is the target process itself.
  return { name, child, pid: child.pid!, lines, exited, stderr: () => stderr };
}

/** Polls `check` until it returns a value, the child exits, or the deadline passes. */
export async function waitFor<T>(
  what: string,
  target: Child,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let gone = false;
  void target.exited.then(() => (gone = true));
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (gone)
      throw new Error(`${target.name} exited while waiting for ${what}: ${target.stderr().slice(-2000)}`);
    if (performance.now() > deadline) throw new Error(`${target.name}: no ${what} within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Stops exactly this process: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stop(target: Child, graceMs = 10_000): Promise<void> {
  if (target.child.exitCode !== null || target.child.signalCode !== null) return;
  target.child.kill('SIGTERM');
  const timer = setTimeout(() => target.child.kill('SIGKILL'), graceMs);
  await target.exited;
  clearTimeout(timer);
}

/** Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds a process has used so far (all threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** 1-minute load average: how busy the machine was (other processes share the cores). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** Polls an HTTP URL until it answers `status`; resolves with the elapsed ms since `sinceMs`. */
export async function untilStatus(
  target: Child,
  url: string,
  status: number,
  sinceMs: number,
  timeoutMs = 30_000,
): Promise<number> {
  return waitFor(
    `${status} from ${url}`,
    target,
    async () => {
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        return response.status === status ? performance.now() - sinceMs : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    5,
  );
}
