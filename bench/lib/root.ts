import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether this runs compiled (dist/bench/…) or from source through tsx (bench/…). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('/dist')) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json)');
    dir = parent;
  }
  return dir;
}

export const ROOT = findRoot();

/** True when the bench runs from TypeScript source through tsx (the smoke test), false when compiled. */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** Node arguments that run a bench or service script, e.g. `bench/load/paced-client`, the same way as this. */
export function nodeArgs(script: string): string[] {
  return FROM_SOURCE ? ['--import', 'tsx', join(ROOT, `${script}.ts`)] : [join(ROOT, 'dist', `${script}.js`)];
}
