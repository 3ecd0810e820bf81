import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * `npm run bench --smoke`: every phase of the benchmark at toy sizes, from source (no build), in seconds. It
 * checks that the harness produces a complete table from real measurements, not that the targets are met:
 * those figures only mean something at full size on a quiet machine (`npm run bench`).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tle-bench-smoke-'));
const out = join(dir, 'RESULTS.md');
after(() => rmSync(dir, { recursive: true, force: true }));

function runSmoke(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--out', out], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface TableRow {
  figure: string;
  value: string;
  target: string;
  verdict: string;
}

function rows(markdown: string): TableRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^\| figure\s+\| value/.test(line));
  assert.ok(start >= 0, 'the results have a figure/value/target/pass-fail table');
  const result: TableRow[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const [figure, value, target, verdict] = line
      .slice(1, -1)
      .split(' | ')
      .map((cell) => cell.trim());
    result.push({ figure: figure!, value: value!, target: target!, verdict: verdict! });
  }
  return result;
}

const LOAD = /^[\d,]+ req\/s; p50\/p99\/p999 [\d.]+\/[\d.]+\/[\d.]+ ms; \d+ errors/;
const MS = /^(max )?[\d.]+ ms/;

test(
  'the smoke run of the benchmark writes and prints a table with every figure',
  { timeout: 120_000 },
  async () => {
    const { code, stdout, stderr } = await runSmoke();
    assert.equal(code, 0, `bench --smoke failed:\n${stderr}`);
    const written = readFileSync(out, 'utf8');
    assert.ok(stdout.includes(written), 'stdout carries the same text as the results file');
    assert.match(written, /^Machine: .+, \d+ cores, Node\.js v\d+\.\d+\.\d+, \d{4}-\d\d-\d\dT/m);

    const table = rows(written);
    const find = (prefix: string) => {
      const row = table.find((r) => r.figure.startsWith(prefix));
      assert.ok(row, `row "${prefix}" is missing; rows: ${table.map((r) => r.figure).join(' / ')}`);
      return row;
    };
    const withTarget = (prefix: string, target: string, value: RegExp) => {
      const row = find(prefix);
      assert.equal(row.target, target, prefix);
      assert.match(row.verdict, /^(pass|\*\*fail\*\*)$/, prefix);
      assert.match(row.value, value, prefix);
      return row;
    };

    assert.match(find('raw node:http baseline, saturation').value, LOAD);
    assert.match(find('bare Koa baseline, saturation').value, LOAD);
    // Correctly signed, valid bodies: any error here is a harness bug, whatever the machine.
    const service = withTarget('service, saturation', 'zero errors', LOAD);
    assert.match(service.value, /; 0 errors in all rounds$/);
    assert.match(find('service ÷ raw node:http').value, /^\d+\.\d\d$/);
    // One round each: the best rounds are the rounds side by side.
    const KOA_RATIO = /^(\d+\.\d\d) \(rounds side by side: (\d+\.\d\d)\)$/;
    const [, best, sideBySide] = KOA_RATIO.exec(withTarget('service ÷ bare Koa', '≥ 0.85', KOA_RATIO).value)!;
    assert.equal(sideBySide, best);
    // The service without its store: measured in the same rounds, against the same bare Koa rounds.
    const IN_MEMORY = /^(\d+\.\d\d) \([\d,]+ req\/s, 0 errors; rounds side by side: (\d+\.\d\d)\)$/;
    const inMemory = IN_MEMORY.exec(find('service in memory ÷ bare Koa').value);
    assert.ok(inMemory, find('service in memory ÷ bare Koa').value);
    assert.equal(inMemory[2], inMemory[1]);
    assert.match(
      find('CPU per request: raw / Koa / service in memory / service').value,
      /^\d+ \/ \d+ \/ \d+ \/ \d+ µs/,
    );
    assert.match(written, /^\| service in memory \| 1 \| \d+ \|/m);
    assert.match(withTarget('p99 at 50 % of saturation', '≤ 5 ms', MS).value, /; 0 errors in all rounds\)$/);
    assert.match(find('bare Koa: p99 at 50 % of its saturation').value, /^[\d.]+ ms .*; 0 errors\)$/);
    withTarget('/metrics render, 1,000 streams × 3 kinds', '≤ 300 ms', MS);
    // The scrape scenario really holds every stream with 3 exception kinds.
    assert.match(find('/metrics size').value, /; 1,000 stream_up \+ 3,000 push_exceptions_total series$/);
    withTarget('longest event-loop stall during scrapes', '≤ 50 ms', MS);
    assert.match(withTarget('callback p99 during scrapes', '≤ 50 ms', MS).value, /; 0 errors\)$/);
    withTarget('RSS per tracked stream (100 → 1,000)', '≤ 2 KiB', /^-?[\d.]+ (B|KiB|MiB)$/);
    assert.match(find('process RSS').value, /MiB at 100 streams, [\d.]+ MiB at 1,000/);
    // The restart loaded every session the scrape scenario left in the store.
    withTarget('ready after restart with 1,000 sessions', '≤ 2 s', /^[\d.]+ s \(state loaded in \d+ ms\)$/);
    // Each round with the CPU it cost: a round that costs nothing was not measured on the target's process.
    const steadyLine =
      /^Steady-rate rounds, p99 \(CPU per request\): service [\d.]+ ms \((\d+) µs\); bare Koa [\d.]+ ms \((\d+) µs\)\.$/m.exec(
        written,
      );
    assert.ok(steadyLine, 'the steady-rate rounds are listed with their CPU per request');
    assert.ok(Number(steadyLine[1]) > 0 && Number(steadyLine[2]) > 0, steadyLine[0]);
    assert.ok(
      !table.some((r) => /NaN|Infinity|undefined/.test(r.value)),
      'no figure is missing its measurement',
    );
    // The service's store held keys that expire during the run, read back from its metrics.
    assert.match(
      written,
      /store started with 2,000 de-duplication keys expiring 100 a second, .+ forgot [\d,]+ of them/,
    );
    assert.match(
      written,
      /^Latency tails\. Service at the steady rate \(median round\): client send lag p99 [\d.]+ ms, p99 from the actual send [\d.]+ ms; worst/m,
    );
  },
);
