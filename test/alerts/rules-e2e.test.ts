// End to end: the real exporter receives signed demo traffic, a real Prometheus scrapes it and evaluates
// alerts/*.yml. Every recording rule must produce series from the real metrics and every rule must evaluate
// without error, so a renamed metric or label in the service breaks this test rather than the alerts in production.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runScript } from '../helpers/cli.js';
import { ROOT, startProcess, type RunningService } from '../helpers/process.js';
import { pollUntil, startPrometheus, type Prometheus } from '../helpers/prometheus.js';

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

describe('alert and recording rules on a real Prometheus scraping the real exporter', () => {
  let dir: string;
  let exporter: RunningService | undefined;
  let prometheus: Prometheus | undefined;

  /** The samples of an instant query; fails on a query error. */
  async function query(expr: string) {
    return (await prometheus!.query(expr)).samples;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tle-rules-e2e-'));
    exporter = await startProcess({
      TENCENT_LIVE_CALLBACK_KEYS: KEY,
      TENCENT_LIVE_STORE: `sqlite:${join(dir, 'state.db')}`,
      TENCENT_LIVE_LOG_LEVEL: 'info', // startProcess waits for the info line "listening"
    });
    prometheus = await startPrometheus({
      dir,
      config: {
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: RULE_FILES,
        scrape_configs: [
          { job_name: JOB, static_configs: [{ targets: [new URL(exporter.metricsUrl).host] }] },
        ],
      },
    });
    // Signed, seeded demo traffic for ~8 s, so that several scrapes see the counters move.
    const traffic = await runScript('src/cli/traffic.ts', [
      '--url',
      exporter.callbackUrl,
      '--key',
      KEY,
      '--count',
      '400',
      '--rate',
      '50',
      '--seed',
      '1',
    ]);
    assert.equal(traffic.code, 0, `${traffic.stdout}${traffic.stderr}`);
  });

  after(async () => {
    await prometheus?.stop();
    if (exporter && exporter.child.exitCode === null && exporter.child.signalCode === null) {
      process.kill(exporter.pid, 'SIGKILL');
      await exporter.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('records live streams and callback rates from the real metrics', async () => {
    await pollUntil('callbacks rate and active streams above 0', 30_000, async () => {
      const rate = await query(`job:tencent_live_callbacks:rate5m{job="${JOB}"} > 0`);
      const active = await query(`job:tencent_live_streams_active:sum{job="${JOB}"} > 0`);
      return rate.length === 1 && active.length === 1 ? true : undefined;
    });
  });

  it('produces series for every recording rule', async () => {
    let empty: string[] = records;
    await pollUntil('a series for every recording rule', 30_000, async () => {
      const stillEmpty: string[] = [];
      for (const record of empty) {
        if ((await query(`${record}{job="${JOB}"}`)).length === 0) stillEmpty.push(record);
      }
      empty = stillEmpty;
      return empty.length === 0 ? true : undefined;
    }).catch(() => undefined);
    assert.deepEqual(empty, [], 'recording rules without series');
  });

  it('maps push exceptions of the real service into every family, keeping stream_id', async () => {
    const result = await query(
      `count by (family) (job_domain_app_name_stream_id_family:tencent_live_push_exceptions:rate5m{job="${JOB}", stream_id!=""})`,
    );
    assert.deepEqual(result.map((r) => r.metric['family']).sort(), [...FAMILIES].sort());
  });

  it('evaluates every rule without error, and the exporter is not reported down', async () => {
    const loaded = await prometheus!.rules();
    assert.equal(loaded.length, rules.length);
    assert.deepEqual(
      loaded.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      [],
    );
    assert.deepEqual(await query('ALERTS{alertname="TencentLiveExporterDown"}'), []);
  });
});
