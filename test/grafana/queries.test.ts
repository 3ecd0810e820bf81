// Every panel expression, Grafana variables substituted, is valid PromQL for a real Prometheus: written as
// recording rules and type-checked by `promtool check rules` (it rejects e.g. rate() over an instant vector).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';

import { DASHBOARDS_DIR, renderDashboards } from '../../grafana/src/dashboards.js';
import { allPanelQueries, substituteVariables } from '../../grafana/src/queries.js';

interface PromtoolResult {
  status: number | null;
  output: string;
}

let dir = '';

function checkRules(exprs: string[], name: string): PromtoolResult {
  const file = join(dir, `${name}.yml`);
  const rules = exprs.map((expr, i) => ({ record: `grafana_panel:check_${i}`, expr }));
  writeFileSync(file, stringify({ groups: [{ name: 'grafana_panel_queries', rules }] }));
  const run = spawnSync('promtool', ['check', 'rules', '--lint-fatal', file], { encoding: 'utf8' });
  assert.equal(run.error, undefined, `promtool could not run (install the prometheus package): ${run.error}`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('panel queries for a real Prometheus', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'grafana-queries-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const queries = allPanelQueries();

  it('returns every target of every panel of the committed dashboards', () => {
    let targets = 0;
    for (const d of renderDashboards()) {
      const model = JSON.parse(readFileSync(join(DASHBOARDS_DIR, d.file), 'utf8')) as {
        panels: { targets?: unknown[] }[];
      };
      targets += model.panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0);
    }
    assert.equal(queries.length, targets);
    assert.deepEqual(
      [...new Set(queries.map((q) => q.dashboard))],
      ['tencent-live-overview', 'tencent-live-receiver', 'tencent-live-stream'],
    );
    assert.ok(queries.every((q) => q.panel.length > 0));
  });

  it('leaves no Grafana variable behind', () => {
    for (const q of queries) assert.doesNotMatch(q.expr, /\$|\[\[/, `${q.dashboard} / ${q.panel}: ${q.expr}`);
  });

  it('substitutes each Grafana variable syntax with a Prometheus value', () => {
    assert.equal(
      substituteVariables(
        'x{job=~"$job", instance=~"${instance}", s=~"[[stream_id]]"}[$__rate_interval] $__interval_ms ${__range:raw}',
      ),
      'x{job=~".+", instance=~".+", s=~".+"}[1m] 15000 5m',
    );
    assert.throws(() => substituteVariables('x{a=~"$nope"}'), /no value for Grafana variable \$nope/);
  });

  it('type-checks every panel expression with promtool', () => {
    const result = checkRules(
      queries.map((q) => q.expr),
      'panels',
    );
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });

  it('would catch a type error: promtool rejects rate() over an instant vector', () => {
    const result = checkRules(['rate(sum(up{job=~".+"}))'], 'broken');
    assert.notEqual(result.status, 0);
    assert.match(result.output, /expected type range vector/);
  });
});
