import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { V8_FLAGS } from '../../src/runtime.js';

/**
 * Allocates 400 000 objects from one literal and keeps them (as a restart's loaded state and the callbacks in
 * flight outlive the young generation), then counts how many of 1 000 further objects from the same literal V8
 * puts in the young generation. `%InYoungGeneration` needs --allow-natives-syntax, which only this child has;
 * the check is compiled with `new Function` so that no other parser sees it. The child runs plain JavaScript
 * with the flags given to it: under tsx's loader V8 never made the decision at all. `--single-threaded` keeps V8's
 * compiler and collector threads out of it: with them, about one run in 30 (one in 60 on a loaded machine) had
 * not made the decision yet by the time of the count, and the control failed; with it, none in 90.
 */
const SCRIPT = `
const { setFlagsFromString } = await import('node:v8');
for (const flag of process.argv.slice(1)) setFlagsFromString(flag);
const inYoung = new Function('o', 'return %InYoungGeneration(o)');
function make(i) { return { a: i, b: [i] }; }
const keep = [];
for (let r = 0; r < 20; r++) for (let i = 0; i < 20000; i++) keep.push(make(i));
let young = 0;
for (let i = 0; i < 1000; i++) if (inYoung(make(i))) young++;
process.stdout.write(String(young));
`;

async function youngOf1000(flags: readonly string[]): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    '--allow-natives-syntax',
    '--single-threaded',
    '--input-type=module',
    '-e',
    SCRIPT,
    '--',
    ...flags,
  ]);
  return Number(stdout);
}

test('V8 left to itself allocates a long-lived literal straight into the old generation', async () => {
  // The control: if a Node.js upgrade changes this, the setting below may no longer be needed (or named so).
  assert.equal(await youngOf1000([]), 0);
});

test('with V8_FLAGS, new objects of that literal stay in the young generation', async () => {
  assert.equal(await youngOf1000(V8_FLAGS), 1000);
});
