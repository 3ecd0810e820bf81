import { LOAD_CORE, spawnPinned } from '../lib/proc.js';
import { nodeArgs, ROOT } from '../lib/root.js';
import type { PacedOptions } from './paced-client.js';
import type { LoadResult } from './result.js';

/** Runs the paced client (paced-client.ts) as its own process on the load core. */
export async function runPaced(options: PacedOptions): Promise<LoadResult> {
  const child = spawnPinned('paced-client', process.execPath, nodeArgs('bench/load/paced-client'), {
    core: LOAD_CORE,
    cwd: ROOT,
    env: { BENCH_LOAD: JSON.stringify(options) },
  });
  const { code } = await child.exited;
  const json = child.lines.find((line) => line.startsWith('{'));
  if (code !== 0 || json === undefined)
    throw new Error(`paced client failed (exit ${code}): ${child.stderr()}`);
  return JSON.parse(json) as LoadResult;
}
