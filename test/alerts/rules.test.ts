// Prometheus rules and the Alertmanager example, checked with the real tools (promtool, amtool) and against the
// monitoring-mixin conventions of OBSERVABILITY.md. The tools are required: a missing binary fails the test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULE_FILES = ['alerts/recording-rules.yml', 'alerts/alert-rules.yml'];
const TESTS_DIR = 'alerts/tests';
const AM_CONFIG = 'alerts/alertmanager.example.yml';
const RUNBOOKS = 'docs/runbooks.md';
const RUNBOOK_BASE =
  'https://github.com/tencent-live-exporter/tencent-live-exporter/blob/main/docs/runbooks.md#';
const SEVERITIES = ['critical', 'warning', 'info'];

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface AlertRuleTest {
  alertname: string;
  exp_alerts?: { exp_labels?: Record<string, string> }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: AlertRuleTest[]; promql_expr_test?: { expr: string }[] }[];
}

const TOOL_PACKAGES: Record<string, string> = {
  promtool: 'prometheus',
  amtool: 'prometheus-alertmanager',
};

/** Runs a tool from the repository root; a missing binary is a failure that says how to install it. */
function run(bin: string, args: string[], cwd = ROOT): { status: number; output: string } {
  const result = spawnSync(bin, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      assert.fail(
        `${bin} is not installed or not on PATH. Install it: apt-get install -y --no-install-recommends ` +
          `${TOOL_PACKAGES[bin] ?? bin} (.ci/run does this in CI).`,
      );
    }
    throw result.error;
  }
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

function readYaml<T>(path: string): T {
  return parse(readFileSync(join(ROOT, path), 'utf8')) as T;
}

function rulesOf(path: string): Rule[] {
  return readYaml<RuleFile>(path).groups.flatMap((group) => group.rules);
}

const alertRules = rulesOf('alerts/alert-rules.yml').filter((rule) => rule.alert !== undefined);
const recordingRules = rulesOf('alerts/recording-rules.yml').filter((rule) => rule.record !== undefined);
const testFiles = readdirSync(join(ROOT, TESTS_DIR))
  .filter((name) => name.endsWith('.yml'))
  .sort()
  .map((name) => `${TESTS_DIR}/${name}`);

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function runbookAnchors(): Map<string, number> {
  const anchors = new Map<string, number>();
  for (const line of readFileSync(join(ROOT, RUNBOOKS), 'utf8').split('\n')) {
    const match = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (match) anchors.set(githubAnchor(match[2]!), match[1]!.length);
  }
  return anchors;
}

describe('Prometheus rules (promtool)', () => {
  it('pass promtool check rules --lint-fatal, with every rule counted', () => {
    const { status, output } = run('promtool', ['check', 'rules', '--lint-fatal', ...RULE_FILES]);
    assert.equal(status, 0, output);
    const found = [...output.matchAll(/SUCCESS: (\d+) rules found/g)].map((m) => Number(m[1]));
    assert.deepEqual(found, [rulesOf(RULE_FILES[0]!).length, rulesOf(RULE_FILES[1]!).length]);
  });

  it('pass every promtool unit test in alerts/tests', () => {
    assert.ok(testFiles.length > 0, `no test files in ${TESTS_DIR}`);
    const { status, output } = run('promtool', ['test', 'rules', ...testFiles]);
    assert.equal(status, 0, output);
    assert.equal(output.match(/SUCCESS/g)?.length, testFiles.length, output);
  });

  it('make promtool fail when an expected alert does not fire (the harness can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tle-rules-'));
    try {
      const file = join(dir, 'wrong.test.yml');
      writeFileSync(
        file,
        [
          'rule_files:',
          ...RULE_FILES.map((path) => `  - ${join(ROOT, path)}`),
          'tests:',
          '  - interval: 1m',
          '    input_series:',
          `      - series: 'up{job="tencent-live-exporter", instance="a:9877"}'`,
          `        values: '1x10'`,
          '    alert_rule_test:',
          '      - eval_time: 10m',
          '        alertname: TencentLiveExporterDown',
          '        exp_alerts:',
          '          - exp_labels: { severity: critical, job: tencent-live-exporter, instance: "a:9877" }',
          '',
        ].join('\n'),
      );
      const { status, output } = run('promtool', ['test', 'rules', file]);
      assert.notEqual(status, 0, output);
      assert.match(output, /FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('alert rule conventions', () => {
  it('has the alerts the product promises', () => {
    const names = new Set(alertRules.map((rule) => rule.alert));
    for (const name of [
      'TencentLiveExporterDown',
      'TencentLiveCallbacksStopped',
      'TencentLiveCallbackSignatureFailures',
      'TencentLiveCallbackPayloadsRejected',
      'TencentLiveAbnormalDisconnects',
      'TencentLiveMassDisconnect',
      'TencentLiveStreamPushExceptions',
      'TencentLiveStateStoreDown',
      'TencentLiveStreamSeriesOverflow',
      'TencentLiveTrackedStreamsNearLimit',
    ]) {
      assert.ok(names.has(name), `missing alert ${name}`);
    }
  });

  it('gives every alert a prefix, for, severity, static summary, templated description and runbook_url', () => {
    const anchors = runbookAnchors();
    for (const rule of alertRules) {
      const name = rule.alert!;
      assert.match(name, /^TencentLive[A-Z][A-Za-z]+$/, `${name}: CamelCase with the TencentLive prefix`);
      assert.match(rule.for ?? '', /^\d+[smhd]$/, `${name}: needs a for:`);
      assert.ok(
        SEVERITIES.includes(rule.labels?.severity ?? ''),
        `${name}: severity must be one of ${SEVERITIES}`,
      );
      const annotations = rule.annotations ?? {};
      assert.deepEqual(Object.keys(annotations).sort(), ['description', 'runbook_url', 'summary'], name);
      const { summary, description, runbook_url: runbookUrl } = annotations as Record<string, string>;
      assert.ok(!summary!.includes('{{'), `${name}: summary must be static`);
      assert.match(summary!, /^[A-Z].*\.$/s, `${name}: summary starts with a capital and ends with a period`);
      assert.ok(description!.includes('{{'), `${name}: description must be templated`);
      assert.ok(runbookUrl!.startsWith(RUNBOOK_BASE), `${name}: runbook_url must point into ${RUNBOOKS}`);
      const anchor = runbookUrl!.slice(RUNBOOK_BASE.length);
      assert.equal(anchor, name.toLowerCase(), `${name}: anchor is the lower-case alert name`);
      assert.ok(anchors.has(anchor), `${name}: no heading for #${anchor} in ${RUNBOOKS}`);
    }
  });

  it('gives alerts that share a name the same annotations and different severities', () => {
    const byName = new Map<string, Rule[]>();
    for (const rule of alertRules) byName.set(rule.alert!, [...(byName.get(rule.alert!) ?? []), rule]);
    for (const [name, rules] of byName) {
      if (rules.length === 1) continue;
      const severities = rules.map((rule) => rule.labels?.severity);
      assert.equal(new Set(severities).size, rules.length, `${name}: one rule per severity`);
      for (const rule of rules) assert.deepEqual(rule.annotations, rules[0]!.annotations, name);
    }
  });

  it('has exactly one runbook section per alert', () => {
    const sections = readFileSync(join(ROOT, RUNBOOKS), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3).trim())
      .sort();
    assert.deepEqual(sections, [...new Set(alertRules.map((rule) => rule.alert!))].sort());
  });

  it('names recording rules level:metric:operations, without _total once rated', () => {
    for (const rule of recordingRules) {
      const name = rule.record!;
      assert.match(name, /^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$/, name);
      const [, metric, operations] = name.split(':');
      if (/rate|increase/.test(operations!)) assert.ok(!metric!.endsWith('_total'), `${name}: drop _total`);
    }
  });
});

describe('promtool unit tests cover every rule', () => {
  const tests = testFiles.map((path) => readYaml<RuleTestFile>(path));

  it('load the real rule files', () => {
    for (const [i, file] of tests.entries()) {
      for (const ruleFile of file.rule_files) {
        assert.ok(
          RULE_FILES.includes(`alerts/${ruleFile.replace(/^\.\.\//, '')}`),
          `${testFiles[i]}: unexpected rule file ${ruleFile}`,
        );
      }
    }
  });

  it('have a firing and a not-firing case for every alert and severity', () => {
    const cases = tests.flatMap((file) => file.tests.flatMap((group) => group.alert_rule_test ?? []));
    for (const rule of alertRules) {
      const name = rule.alert!;
      const severity = rule.labels!.severity!;
      const own = cases.filter((c) => c.alertname === name);
      assert.ok(
        own.some((c) => (c.exp_alerts ?? []).some((a) => a.exp_labels?.severity === severity)),
        `${name} (${severity}): no firing case`,
      );
      assert.ok(
        own.some((c) => (c.exp_alerts ?? []).length === 0),
        `${name}: no not-firing case (exp_alerts: [])`,
      );
    }
  });

  it('have a promql_expr_test for every recording rule', () => {
    const exprs = tests.flatMap((file) =>
      file.tests.flatMap((group) => (group.promql_expr_test ?? []).map((t) => t.expr)),
    );
    for (const rule of recordingRules) {
      assert.ok(
        exprs.some((expr) => expr.includes(rule.record!)),
        `${rule.record}: no promql_expr_test`,
      );
    }
  });
});

describe('Alertmanager example (amtool)', () => {
  const routesTest = (receiver: string, labels: string[]) =>
    run('amtool', [
      'config',
      'routes',
      'test',
      `--config.file=${AM_CONFIG}`,
      `--verify.receivers=${receiver}`,
      ...labels,
    ]);

  it('passes amtool check-config', () => {
    const { status, output } = run('amtool', ['check-config', AM_CONFIG]);
    assert.equal(status, 0, output);
    assert.match(output, /SUCCESS/);
  });

  for (const [severity, receiver] of [
    ['critical', 'pager'],
    ['warning', 'tickets'],
    ['info', 'null'],
  ] as const) {
    it(`routes severity=${severity} to ${receiver}`, () => {
      const { status, output } = routesTest(receiver, [
        `severity=${severity}`,
        'alertname=TencentLiveAbnormalDisconnects',
        'job=tencent-live-exporter',
      ]);
      assert.equal(status, 0, output);
    });
  }

  it('does not page for a warning, nor open a ticket for a critical (amtool fails on a wrong receiver)', () => {
    assert.notEqual(routesTest('pager', ['severity=warning', 'job=tencent-live-exporter']).status, 0);
    assert.notEqual(routesTest('tickets', ['severity=critical', 'job=tencent-live-exporter']).status, 0);
  });

  it('sends an alert without a severity to tickets rather than dropping it', () => {
    const { status, output } = routesTest('tickets', ['alertname=Unlabelled', 'job=tencent-live-exporter']);
    assert.equal(status, 0, output);
  });

  it('groups by alertname and job and uses only matchers (no deprecated match/match_re)', () => {
    const config = readYaml<{ route: { group_by: string[] } }>(AM_CONFIG);
    assert.deepEqual(config.route.group_by, ['alertname', 'job']);
    const deprecated: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) node.forEach((item, i) => walk(item, `${path}[${i}]`));
      else if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (/^(source_|target_)?match(_re)?$/.test(key)) deprecated.push(`${path}.${key}`);
          walk(value, `${path}.${key}`);
        }
      }
    };
    walk(config, '');
    assert.deepEqual(deprecated, []);
  });
});
