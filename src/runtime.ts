import { setFlagsFromString } from 'node:v8';

/**
 * V8 settings the service runs with, set by `main` before it loads any state or takes any callback.
 *
 * `--no-allocation-site-pretenuring`: V8 watches what each object literal allocates, and once nearly every object
 * from one literal has outlived a young-generation collection, it allocates that literal's objects straight into
 * the old generation from then on. A restart with 100 000 sessions followed at once by callbacks on 64
 * connections made that call on a few literals of the callback path (119–260 objects each, 98–100 % of them
 * still alive at the first collections) in about half of the runs. From then on each callback kept ~5 KB past
 * the young generation (what the tenured objects referenced was kept with them), a major collection came
 * every ~4 s at full load, and RSS with 100 000 streams was 300–380 MiB instead of ~235 MiB, for the life of the
 * process (docs/performance.md, change 21). The service's long-lived state is typed arrays, maps and a few
 * objects per stream, so it gains nothing from the heuristic. The flag is read by the collector whenever it
 * decides, so setting it at run time, before the first callback, is enough (test/unit/runtime.test.ts).
 */
export const V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** Sets V8_FLAGS; returns them, for the start-up log. */
export function tuneV8(): readonly string[] {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
  return V8_FLAGS;
}
