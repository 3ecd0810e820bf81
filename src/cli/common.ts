import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** What a CLI touches of the outside world, so that tests can run `main` in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Unix time in ms. */
  now: () => number;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  env: process.env,
  now: Date.now,
};

/** A mistake in the command line: printed with the usage hint, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * The signing key both CLIs use: none with `--unsigned`, else `--key`, else the first of
 * TENCENT_LIVE_CALLBACK_KEYS; a usage error when there is none or when both flags are given.
 */
export function signingKey(
  flags: { key?: string | undefined; unsigned?: boolean | undefined },
  env: CliIo['env'],
): string | undefined {
  if (flags.unsigned && flags.key !== undefined)
    throw new UsageError('--key and --unsigned exclude each other');
  if (flags.unsigned) return undefined;
  const key = resolveKey(flags.key, env);
  if (key === undefined) {
    throw new UsageError('--key is required (or set TENCENT_LIVE_CALLBACK_KEYS), or pass --unsigned');
  }
  return key;
}

/** The key from `--key`, else the first of TENCENT_LIVE_CALLBACK_KEYS (the exporter's own variable). */
export function resolveKey(flag: string | undefined, env: CliIo['env']): string | undefined {
  if (flag !== undefined) {
    if (flag.trim() === '') throw new UsageError('--key must not be empty');
    return flag;
  }
  return (env.TENCENT_LIVE_CALLBACK_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .find((k) => k !== '');
}

export function parseUrl(flag: string, value: string | undefined): URL {
  if (value === undefined)
    throw new UsageError(`${flag} is required, e.g. ${flag} http://127.0.0.1:8080/callback`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag} must be an http or https URL, got "${value}"`);
  }
  return url;
}

/** An integer flag within [min, max]; undefined when the flag was not given. */
export function parseInteger(
  flag: string,
  value: string | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** A positive number flag (fractions allowed); undefined when not given. */
export function parsePositive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number, got "${value}"`);
  }
  return n;
}

/**
 * True when the module at `moduleUrl` is the script node was started with, so that importing a CLI module
 * (tests, other tools) does not run it. realpath: npm's bin links and tsx both may hand us a symlink.
 */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return moduleUrl === pathToFileURL(script).href;
  }
}

/** Runs `main` and turns its result into the exit code; unexpected errors exit 1 with their message. */
export function run(main: (argv: string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT_FAILED;
    },
  );
}

/** parseArgs throws TypeErrors whose message already names the flag ("Unknown option '--foo'"). */
export function asUsageError(error: unknown): UsageError | undefined {
  if (error instanceof UsageError) return error;
  const code = (error as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
    return new UsageError((error as Error).message);
  return undefined;
}
