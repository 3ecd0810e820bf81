// The inhibit rules of alerts/alertmanager.example.yml, checked against a real Alertmanager on 127.0.0.1 (amtool
// can test routes offline, not inhibitions). Alerts are posted to its API, which reports each alert's receivers
// and whether it is inhibited.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAlertmanager } from '../helpers/alertmanager.js';
import { ROOT } from '../helpers/process.js';
import type { Daemon } from '../helpers/prometheus.js';

const CONFIG = join(ROOT, 'alerts/alertmanager.example.yml');
const JOB = 'tencent-live-exporter';

interface ApiAlert {
  labels: Record<string, string>;
  receivers: { name: string }[];
  status: { state: string; inhibitedBy: string[] };
}

describe('Alertmanager example: routing and inhibition in a real Alertmanager', () => {
  let alertmanager: Daemon | undefined;
  let storage: string;
  let base: string;

  before(async () => {
    storage = mkdtempSync(join(tmpdir(), 'tle-am-'));
    alertmanager = await startAlertmanager({ dir: storage, configFile: CONFIG });
    base = alertmanager.url;
  });

  after(async () => {
    await alertmanager?.stop();
    rmSync(storage, { recursive: true, force: true });
  });

  async function post(alerts: Record<string, string>[]): Promise<void> {
    const response = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(alerts.map((labels) => ({ labels }))),
    });
    assert.equal(response.status, 200, await response.text());
  }

  /** The alert with exactly these labels, as the API reports it now. */
  async function find(labels: Record<string, string>): Promise<ApiAlert> {
    const response = await fetch(`${base}/api/v2/alerts`);
    assert.equal(response.status, 200);
    const alerts = (await response.json()) as ApiAlert[];
    const found = alerts.find(
      (a) =>
        Object.keys(a.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    );
    assert.ok(found, `alert ${JSON.stringify(labels)} not found`);
    return found;
  }

  it('a critical mutes the warning of the same alert, job and push path, not of another job, alert or domain', async () => {
    const critical = {
      alertname: 'TencentLiveAbnormalDisconnects',
      severity: 'critical',
      job: JOB,
      domain: 'a',
    };
    const warning = { ...critical, severity: 'warning' };
    const otherJob = { ...warning, job: 'staging' };
    const otherAlert = { alertname: 'TencentLiveStreamPushExceptions', severity: 'warning', job: JOB };
    const otherDomain = { ...warning, domain: 'b' };
    await post([critical, warning, otherJob, otherAlert, otherDomain]);

    const c = await find(critical);
    assert.equal(c.status.state, 'active');
    assert.deepEqual(
      c.receivers.map((r) => r.name),
      ['pager'],
    );
    const w = await find(warning);
    assert.equal(w.status.state, 'suppressed');
    assert.equal(w.status.inhibitedBy.length, 1);
    assert.deepEqual(
      w.receivers.map((r) => r.name),
      ['tickets'],
    );
    assert.equal((await find(otherJob)).status.state, 'active');
    assert.equal((await find(otherAlert)).status.state, 'active');
    assert.equal((await find(otherDomain)).status.state, 'active');
  });

  it('no target for the job mutes every other alert of its job, but not itself', async () => {
    const job = 'exporter-down-case';
    const down = { alertname: 'TencentLiveExporterDown', severity: 'critical', job };
    const store = { alertname: 'TencentLiveStateStoreDown', severity: 'critical', job, instance: 'a:9877' };
    const info = { alertname: 'TencentLiveSessionsExpired', severity: 'info', job };
    const elsewhere = { ...store, job: 'another-exporter' };
    await post([down, store, info, elsewhere]);

    assert.equal((await find(down)).status.state, 'active');
    assert.equal((await find(store)).status.state, 'suppressed');
    const i = await find(info);
    assert.equal(i.status.state, 'suppressed');
    assert.deepEqual(
      i.receivers.map((r) => r.name),
      ['null'],
    );
    assert.equal((await find(elsewhere)).status.state, 'active');
  });

  it('one replica down mutes only its own alerts, not those of the other replicas or of the job', async () => {
    const job = 'replica-down-case';
    const down = { alertname: 'TencentLiveExporterDown', severity: 'critical', job, instance: 'a:9877' };
    const own = { alertname: 'TencentLiveStateStoreDown', severity: 'critical', job, instance: 'a:9877' };
    const other = { ...own, instance: 'b:9877' };
    const jobWide = { alertname: 'TencentLiveCallbacksStopped', severity: 'critical', job };
    await post([down, own, other, jobWide]);

    assert.equal((await find(down)).status.state, 'active');
    assert.equal((await find(own)).status.state, 'suppressed');
    assert.equal((await find(other)).status.state, 'active');
    assert.equal((await find(jobWide)).status.state, 'active');
  });
});
