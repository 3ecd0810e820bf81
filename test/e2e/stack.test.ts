// The whole monitoring path, end to end, with real processes on 127.0.0.1:
//   signed Tencent traffic → the service (`node --import tsx src/main.ts`, SQLite) → Prometheus (scraping it, with
//   the repository's recording and alert rules) → Alertmanager (the example config) → a webhook receiver.
// It checks that every panel of every committed dashboard shows data against that Prometheus, that every
// recording rule yields series and every rule evaluates cleanly, that a warning reaches the tickets webhook, and
// that killing the service pages: a critical alert reaches the pager webhook.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';

import { allPanelQueries } from '../../grafana/src/queries.js';
import { hashKey } from '../../src/state/session.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import { TrafficGenerator } from '../../src/traffic/generator.js';
import { pushStart, pushStop, sequenceFor } from '../../src/traffic/payloads.js';
import { postBody, sendBodies, type SendSummary } from '../../src/traffic/sender.js';
import { signPayload } from '../../src/verify/sign.js';
import { startAlertmanager, startWebhookReceiver, type WebhookReceiver } from '../helpers/alertmanager.js';
import { ROOT, startProcess, type RunningService } from '../helpers/process.js';
import { pollUntil, startPrometheus, type Daemon, type Prometheus } from '../helpers/prometheus.js';

const KEY = 'e2e-stack-key';
const JOB = 'tencent-live-exporter';
/** How long the panels may take to all show data; the first scrape alone lands ~5–6 s after Prometheus starts. */
const PANELS_DEADLINE_MS = 40_000;
/** From kill -9 to the webhook: a failed scrape (1 s), `for` (1 s here), evaluation (1 s), group_wait (1 s). */
const ALERT_DEADLINE_MS = 25_000;

const dir = mkdtempSync(join(tmpdir(), 'tle-e2e-'));
const daemons: Daemon[] = [];
let service: RunningService | undefined;
let webhook: WebhookReceiver | undefined;
let prometheus: Prometheus;
let traffic: { stop: () => Promise<SendSummary> } | undefined;

/** `host:port` of the service's metrics listener: the `instance` label Prometheus gives its series. */
let metricsTarget = '';

/**
 * The alert rules as shipped, except every `for:` is 1 s: the real ones wait minutes (TencentLiveExporterDown
 * 5m), which no test can. Expressions, labels and annotations are kept identical.
 */
function writeTestAlertRules(): string {
  const rules = parse(readFileSync(join(ROOT, 'alerts/alert-rules.yml'), 'utf8')) as {
    groups: { rules: { alert?: string; for?: string }[] }[];
  };
  let alerts = 0;
  for (const group of rules.groups) {
    for (const rule of group.rules) {
      if (rule.alert === undefined) continue;
      rule.for = '1s';
      alerts++;
    }
  }
  assert.ok(alerts > 0, 'alerts/alert-rules.yml has alert rules');
  const file = join(dir, 'alert-rules.e2e.yml');
  writeFileSync(file, stringify(rules));
  return file;
}

/**
 * alerts/alertmanager.example.yml with each webhook receiver pointed at our receiver under its own path
 * (/pager, /tickets), and short grouping delays so that a notification leaves within a second or two.
 */
function alertmanagerConfig(webhookUrl: string): Record<string, unknown> {
  const config = parse(readFileSync(join(ROOT, 'alerts/alertmanager.example.yml'), 'utf8')) as {
    route: Record<string, unknown>;
    receivers: { name: string; webhook_configs?: { url: string }[] }[];
  };
  let webhooks = 0;
  for (const receiver of config.receivers) {
    for (const hook of receiver.webhook_configs ?? []) {
      hook.url = `${webhookUrl}/${receiver.name}`;
      webhooks++;
    }
  }
  assert.ok(webhooks > 0, 'the example Alertmanager config has webhook receivers');
  config.route['group_wait'] = '1s';
  config.route['group_interval'] = '1s';
  return config;
}

/**
 * A push session left in the store by an earlier run whose disconnect never came: last news two hours ago.
 * With TENCENT_LIVE_SESSION_MAX_AGE_SECONDS=60 the service's first sweep (10 s after start) expires it, which
 * feeds the "Sessions expired" panel and an `ended` series eviction.
 */
async function seedAbandonedSession(path: string): Promise<void> {
  const store = new SqliteStore(path);
  const now = Date.now();
  const session = {
    domain: 'live-old.example.com',
    appName: 'live',
    streamId: 'abandoned',
    sequence: sequenceFor('e2e:abandoned'),
    startedAt: Math.floor(now / 1000) - 3 * 3600,
    lastSeenAt: now - 2 * 3600 * 1000,
  };
  const start = { op: 'start' as const, session, endKey: hashKey('e2e:abandoned-stop') };
  await store.apply([{ dedupKey: hashKey('e2e:abandoned'), session: start }], now, 60_000);
  await store.close();
}

/**
 * Bodies the service must refuse or that end no session, one of each in turn: they feed the rejection and
 * unmatched-disconnect panels. Built by the project's payload builders and signing function.
 */
function oddBody(turn: number): string {
  const now = Date.now() / 1000;
  const base = { domain: 'live-a.example.com', appName: 'live', eventTime: Math.floor(now) };
  switch (turn % 7) {
    case 0: // bad_signature: signed with another key
      return JSON.stringify(
        signPayload(pushStart({ ...base, streamId: `forged-${turn}` }), 'not-the-key', now),
      );
    case 1: // malformed_json
      return '{"event_type": 1, "stream_id": ';
    case 2: // missing_signature
      return JSON.stringify(pushStart({ ...base, streamId: `unsigned-${turn}` }));
    case 3: // expired: signed two hours ago
      return JSON.stringify(signPayload(pushStart({ ...base, streamId: `old-${turn}` }), KEY, now - 7200));
    case 4: // invalid_payload: correctly signed, but no stream fields
      return JSON.stringify(signPayload({ event_type: 1 }, KEY, now));
    case 5: // a disconnect with no session (cause="no_session")
      return JSON.stringify(
        signPayload(
          pushStop({ ...base, streamId: `ghost-${turn}`, sequence: sequenceFor(turn), errcode: 5 }),
          KEY,
          now,
        ),
      );
    default: // a disconnect of an older push of a live stream (cause="stale_sequence")
      return JSON.stringify(
        signPayload(
          pushStop({ ...base, streamId: 'stale', sequence: sequenceFor(`stale:${turn}`), errcode: 3 }),
          KEY,
          now,
        ),
      );
  }
}

/**
 * Signed traffic from the project's generator at a steady rate until stopped, so that counters keep rising
 * across scrapes (rates and quantiles need two differing samples): starts, stops with normal and abnormal
 * errcodes of every reason class, push exception reports of every type, recordings, screenshots and retries,
 * with an odd body every 8th request.
 */
function startTraffic(callbackUrl: string): { stop: () => Promise<SendSummary> } {
  const generator = new TrafficGenerator({
    key: KEY,
    seed: 7,
    streams: 24,
    domains: ['live-a.example.com', 'live-b.example.com'],
    apps: ['live', 'game'],
    mix: { exception: 0.45, startStop: 0.3, retry: 0.1, record: 0.075, snapshot: 0.075 },
    errcodes: {
      normal: [1, 2, 3, 21],
      abnormal: [0, 4, 5, 6, 7, 8, 12, 18, 19, 20, 33, 37, 39, 99],
      abnormalShare: 0.5,
    },
  });
  let stopped = false;
  const done = sendBodies({
    url: callbackUrl,
    bodies: (index) => {
      if (stopped) return undefined;
      return index % 8 === 7 ? oddBody(Math.floor(index / 8)) : generator.next().body;
    },
    concurrency: 4,
    rate: 40,
    durationMs: PANELS_DEADLINE_MS + 20_000,
    timeoutMs: 5_000,
  });
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

function recordedSeries(): string[] {
  const rules = parse(readFileSync(join(ROOT, 'alerts/recording-rules.yml'), 'utf8')) as {
    groups: { rules: { record?: string }[] }[];
  };
  const names = rules.groups.flatMap((group) => group.rules.map((rule) => rule.record ?? ''));
  return [...new Set(names.filter((name) => name !== ''))];
}

describe('the monitoring stack end to end', { timeout: 90_000 }, () => {
  before(async () => {
    const db = join(dir, 'state.db');
    await seedAbandonedSession(db);
    webhook = await startWebhookReceiver();
    // Each child is recorded as soon as it runs, and both starts settle before any failure is thrown, so that
    // `after` stops whichever did start.
    const [started, alertmanager] = await Promise.allSettled([
      startProcess({
        TENCENT_LIVE_CALLBACK_KEYS: KEY,
        TENCENT_LIVE_STORE: `sqlite:${db}`,
        TENCENT_LIVE_LOG_LEVEL: 'info',
        TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: '60',
        // Ended streams lose their series at the next sweep: feeds the evictions panel within the test.
        TENCENT_LIVE_SERIES_GRACE_SECONDS: '0',
      }).then((running) => (service = running)),
      startAlertmanager({ dir, config: alertmanagerConfig(webhook.url) }).then((daemon) => {
        daemons.push(daemon);
        return daemon;
      }),
    ]);
    for (const result of [started, alertmanager]) if (result.status === 'rejected') throw result.reason;
    assert.ok(service && alertmanager.status === 'fulfilled');
    metricsTarget = new URL(service.metricsUrl).host;

    // A live stream whose older pushes' disconnects arrive late (stale_sequence, see oddBody).
    const staleStart = pushStart({
      domain: 'live-a.example.com',
      appName: 'live',
      streamId: 'stale',
      sequence: sequenceFor('stale:live'),
      eventTime: Math.floor(Date.now() / 1000),
    });
    const answer = await postBody(
      service.callbackUrl,
      JSON.stringify(signPayload(staleStart, KEY, Date.now() / 1000)),
    );
    assert.equal(answer.status, 200, answer.body);
    traffic = startTraffic(service.callbackUrl);

    prometheus = await startPrometheus({
      dir,
      config: {
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        rule_files: [join(ROOT, 'alerts/recording-rules.yml'), writeTestAlertRules()],
        alerting: {
          alertmanagers: [{ static_configs: [{ targets: [new URL(alertmanager.value.url).host] }] }],
        },
        scrape_configs: [{ job_name: JOB, static_configs: [{ targets: [metricsTarget] }] }],
      },
    });
    daemons.push(prometheus);
  });

  after(async () => {
    await traffic?.stop().catch(() => undefined);
    if (service && service.child.exitCode === null && service.child.signalCode === null) {
      process.kill(service.pid, 'SIGKILL');
      await service.exited;
    }
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    await webhook?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows data in every dashboard panel and every recording rule, and evaluates every rule cleanly', async () => {
    const checks = [
      ...allPanelQueries().map((q) => ({
        name: `${q.dashboard} / ${q.panel}`,
        expr: q.expr,
        // A panel "has data" when it shows a value above zero: the bounded counters start at 0, so mere
        // presence would pass even if nothing ever reached them.
        positive: true,
      })),
      // Counted but on no panel (only as `event` values of the callbacks panels): the traffic reached them.
      ...['tencent_live_recordings_total', 'tencent_live_screenshots_total'].map((metric) => ({
        name: `${metric} (no panel)`,
        expr: `sum(rate(${metric}{job="${JOB}"}[1m]))`,
        positive: true,
      })),
      ...recordedSeries().map((record) => ({
        name: `recording rule ${record}`,
        expr: record,
        positive: false,
      })),
    ];
    assert.ok(checks.length > 40, `expected the panels of three dashboards, got ${checks.length} checks`);
    const verdicts = new Map<string, string>();
    const pending = new Set(checks);
    try {
      await pollUntil(
        'data in every panel',
        PANELS_DEADLINE_MS,
        async () => {
          await Promise.all(
            [...pending].map(async (check) => {
              const { samples } = await prometheus.query(check.expr);
              const values = samples.map((sample) => Number(sample.value[1]));
              if (samples.length > 0 && (!check.positive || values.some((v) => v > 0))) {
                pending.delete(check);
              } else {
                verdicts.set(check.name, samples.length === 0 ? 'empty' : `only ${values.join(', ')}`);
              }
            }),
          );
          return pending.size === 0 ? true : undefined;
        },
        500,
      );
    } catch {
      const targets = await prometheus.targets().catch(() => []);
      const lines = [...pending].map(
        (check) => `  ${check.name}: ${verdicts.get(check.name)}\n    ${check.expr}`,
      );
      assert.fail(
        `${pending.size} of ${checks.length} queries have no data after ${PANELS_DEADLINE_MS / 1000} s:\n` +
          `${lines.join('\n')}\ntargets: ${JSON.stringify(targets)}\nprometheus: ${prometheus.logs}`,
      );
    }

    // Every recording and alert rule evaluated without a runtime error (e.g. many-to-many matching, which
    // promtool's static checks cannot see).
    const rules = await prometheus.rules();
    assert.ok(rules.length > 20, `rules loaded: ${rules.length}`);
    const broken = rules.filter((rule) => rule.health !== 'ok');
    assert.deepEqual(broken, [], 'every rule evaluates cleanly');

    const summary = await traffic!.stop();
    traffic = undefined;
    assert.deepEqual(summary.errors, {}, 'no request failed at the network level');
    assert.ok((summary.statuses['200'] ?? 0) > 100, JSON.stringify(summary.statuses));
    assert.ok((summary.statuses['400'] ?? 0) > 0, JSON.stringify(summary.statuses));
    assert.ok((summary.statuses['401'] ?? 0) > 0, JSON.stringify(summary.statuses));
    assert.deepEqual(
      Object.keys(summary.statuses).sort(),
      ['200', '400', '401'],
      `only accepted and refused callbacks, never 5xx: ${JSON.stringify(summary.statuses)}`,
    );
  });

  it('opens a ticket for a warning: sustained push exceptions of a stream', async () => {
    // With `for: 1s`, the steady 321 reports of the traffic fire TencentLiveStreamPushExceptions (warning).
    const ticket = await pollUntil('a TencentLiveStreamPushExceptions ticket', 20_000, () =>
      webhook!.messages.find((message) =>
        message.alerts.some(
          (alert) =>
            alert.status === 'firing' && alert.labels['alertname'] === 'TencentLiveStreamPushExceptions',
        ),
      ),
    );
    assert.equal(ticket.path, '/tickets', 'warnings route to the tickets receiver');
    const alert = ticket.alerts.find((a) => a.labels['alertname'] === 'TencentLiveStreamPushExceptions')!;
    assert.equal(alert.labels['severity'], 'warning');
    assert.equal(alert.labels['job'], JOB);
    assert.match(alert.labels['stream_id'] ?? '', /^stream-\d{4}$/);
    assert.ok(alert.labels['family'], 'the exception family is a label of the alert');
  });

  it('pages through Alertmanager when the exporter dies (kill -9)', async () => {
    assert.ok(service, 'the service runs');
    const killedAt = Date.now();
    process.kill(service.pid, 'SIGKILL');
    assert.deepEqual(await service.exited, { code: null, signal: 'SIGKILL' });

    // Before the first scrape the `absent()` half of the rule may already have fired without an instance;
    // only the `up == 0` half names the killed target. `startsAt` after the kill (1 s of slack: it is an
    // evaluation time) rules out an alert caused by some slow scrape earlier.
    const paged = await pollUntil('TencentLiveExporterDown at the pager webhook', ALERT_DEADLINE_MS, () =>
      webhook!.messages.find((message) =>
        message.alerts.some(
          (alert) =>
            alert.status === 'firing' &&
            alert.labels['alertname'] === 'TencentLiveExporterDown' &&
            alert.labels['instance'] === metricsTarget &&
            Date.parse(alert.startsAt) >= killedAt - 1000,
        ),
      ),
    ).catch((error: unknown) => {
      throw new Error(
        `${(error as Error).message}\nwebhook got: ${JSON.stringify(webhook!.messages)}\n` +
          `alertmanager: ${daemons[0]?.logs}\nprometheus: ${prometheus.logs}`,
      );
    });
    assert.equal(paged.path, '/pager', 'critical alerts route to the pager receiver');
    assert.equal(paged.receiver, 'pager');
    const alert = paged.alerts.find(
      (a) => a.labels['instance'] === metricsTarget && Date.parse(a.startsAt) >= killedAt - 1000,
    )!;
    assert.equal(alert.labels['severity'], 'critical');
    assert.equal(alert.labels['job'], JOB);
    assert.equal(alert.status, 'firing');
    assert.match(alert.annotations['runbook_url'] ?? '', /runbooks\.md#tencentliveexporterdown$/);
  });
});
