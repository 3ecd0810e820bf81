// End to end: the real exporter receives signed demo traffic, a real Prometheus scrapes it and evaluates
// alerts/*.yml. Every recording rule must produce series from the real metrics and every rule must evaluate
// without error, so a renamed metric or label in the service breaks this test rather than the alerts in production.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULE_FILES = ['alerts/recording-rules.yml', 'alerts/alert-rules.yml'].map((f) => join(ROOT, f));
const JOB = 'tencent-live-exporter';
const KEY = 'e2ekey0123';
const FAMILIES = ['timestamps', 'frame_gaps', 'codecs', 'gop_frame_rate', 'chunk_size'];

interface RuleFile {
  groups: { rules: { record?: string; alert?: string }[] }[];
}
const rules = RULE_FILES.flatMap((file) =>
  (parse(readFileSync(file, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules),
);
const records = [...new Set(rules.flatMap((r) => (r.record ? [r.record] : [])))];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

interface Child {
  process: ChildProcess;
  output: string;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const child: Child = {
    process: spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    output: '',
  };
  child.process.stdout!.on('data', (chunk: Buffer) => (child.output += chunk.toString()));
  child.process.stderr!.on('data', (chunk: Buffer) => (child.output += chunk.toString()));
  child.process.once('error', (error: NodeJS.ErrnoException) => {
    child.output +=
      error.code === 'ENOENT'
        ? `${command} is not installed or not on PATH (apt-get install -y --no-install-recommends prometheus)`
        : String(error);
  });
  return child;
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      assert.fail(`${what} not reached within ${ms} ms (${String(lastError ?? '')})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function stop(child: Child | undefined): void {
  if (child?.process.pid !== undefined && child.process.exitCode === null) child.process.kill('SIGTERM');
}

describe('alert and recording rules on a real Prometheus scraping the real exporter', () => {
  let dir: string;
  let exporter: Child | undefined;
  let prometheus: Child | undefined;
  let promUrl: string;

  async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; data: { result: never[] }; error?: string };
    assert.equal(body.status, 'success', `${expr}: ${body.error}`);
    return body.data.result;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tle-rules-e2e-'));
    const [callbackPort, metricsPort, promPort] = [await freePort(), await freePort(), await freePort()];
    exporter = start(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      ...process.env,
      TENCENT_LIVE_CALLBACK_KEYS: KEY,
      TENCENT_LIVE_CALLBACK_LISTEN: `127.0.0.1:${callbackPort}`,
      TENCENT_LIVE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      TENCENT_LIVE_STORE: `sqlite:${join(dir, 'state.db')}`,
      TENCENT_LIVE_LOG_LEVEL: 'warn',
    });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files:',
        ...RULE_FILES.map((f) => `  - ${f}`),
        'scrape_configs:',
        `  - job_name: ${JOB}`,
        `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
        '',
      ].join('\n'),
    );
    promUrl = `http://127.0.0.1:${promPort}`;
    prometheus = start('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await eventually(
      `exporter ready\n${exporter.output}`,
      async () => ((await fetch(`http://127.0.0.1:${metricsPort}/-/ready`)).ok ? true : undefined),
      20_000,
    );
    await eventually(
      `prometheus ready\n${prometheus.output}`,
      async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined),
      20_000,
    );
    // Signed, seeded demo traffic for ~8 s, so that several scrapes see the counters move.
    const traffic = start(process.execPath, [
      '--import',
      'tsx',
      'src/cli/traffic.ts',
      '--url',
      `http://127.0.0.1:${callbackPort}/callback`,
      '--key',
      KEY,
      '--count',
      '400',
      '--rate',
      '50',
      '--seed',
      '1',
    ]);
    const code = await new Promise<number | null>((resolve) => traffic.process.once('exit', resolve));
    assert.equal(code, 0, traffic.output);
  });

  after(() => {
    stop(prometheus);
    stop(exporter);
    rmSync(dir, { recursive: true, force: true });
  });

  it('records live streams and callback rates from the real metrics', async () => {
    await eventually(
      'callbacks rate and active streams above 0',
      async () => {
        const rate = await query(`job:tencent_live_callbacks:rate5m{job="${JOB}"} > 0`);
        const active = await query(`job:tencent_live_streams_active:sum{job="${JOB}"} > 0`);
        return rate.length === 1 && active.length === 1 ? true : undefined;
      },
      30_000,
    );
  });

  it('produces series for every recording rule', async () => {
    let empty: string[] = records;
    await eventually(
      'a series for every recording rule',
      async () => {
        const stillEmpty: string[] = [];
        for (const record of empty) {
          if ((await query(`${record}{job="${JOB}"}`)).length === 0) stillEmpty.push(record);
        }
        empty = stillEmpty;
        return empty.length === 0 ? true : undefined;
      },
      30_000,
    ).catch(() => undefined);
    assert.deepEqual(empty, [], 'recording rules without series');
  });

  it('maps push exceptions of the real service into every family, keeping stream_id', async () => {
    const result = await query(
      `count by (family) (job_domain_app_name_stream_id_family:tencent_live_push_exceptions:rate5m{job="${JOB}", stream_id!=""})`,
    );
    assert.deepEqual(result.map((r) => r.metric.family).sort(), [...FAMILIES].sort());
  });

  it('evaluates every rule without error, and the exporter is not reported down', async () => {
    const response = await fetch(`${promUrl}/api/v1/rules`);
    const body = (await response.json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const loaded = body.data.groups.flatMap((g) => g.rules);
    assert.equal(loaded.length, rules.length);
    assert.deepEqual(
      loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    assert.deepEqual(await query('ALERTS{alertname="TencentLiveExporterDown"}'), []);
  });
});
