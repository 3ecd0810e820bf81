// Running the project's command-line tools in tests: in process through their `main` with captured output, or
// as a script the way a user does (`node --import tsx <script>`), with the exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { CliIo } from '../../src/cli/common.js';
import { ROOT } from './process.js';

export interface CliResult {
  code: number;
  /** The lines written, joined by newlines. */
  stdout: string;
  stderr: string;
}

/** Tencent's callback signature, md5(key + t) hex, computed here rather than by the code under test. */
export const expectedSign = (key: string, t: unknown): string =>
  createHash('md5')
    .update(key + String(t))
    .digest('hex');

/** Calls a CLI's `main(argv, io)` with `env` as its environment and `now` as its clock, capturing its output. */
export async function runMain(
  main: (argv: string[], io: CliIo) => Promise<number>,
  argv: string[],
  env: Record<string, string> = {},
  now: () => number = Date.now,
): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, now };
  const code = await main(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Asserts that each command line of `cases` is refused with exit code 2 and a message matching its pattern. */
export async function assertUsageErrors(
  cli: (argv: string[]) => Promise<CliResult>,
  cases: [argv: string[], message: RegExp][],
): Promise<void> {
  for (const [argv, message] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, message, argv.join(' '));
  }
}

/**
 * Runs `node --import tsx <script> ...args` from the repository root to its end and resolves with its exit
 * code and output, whatever the code. Rejects only when it could not run or was killed by a signal.
 */
export function runScript(script: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { cwd: ROOT },
      (error, stdout, stderr) => {
        if (error === null) resolve({ code: 0, stdout, stderr });
        else if (typeof error.code === 'number') resolve({ code: error.code, stdout, stderr });
        else reject(new Error(`${script} did not run to an exit code: ${error.message}\n${stderr}`));
      },
    );
  });
}
