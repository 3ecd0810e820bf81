// The grafana/dashboard-linter rules (OBSERVABILITY.md), checked over every variable, panel and target of the
// committed dashboards; and the checker itself, on expressions that break each rule.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DASHBOARDS_DIR, renderDashboards } from '../../grafana/src/dashboards.js';
import { lintExpr, lintReplicas } from './promql-lint.js';

interface Variable {
  type: string;
  name: string;
  label?: string;
  query?: unknown;
  datasource?: { type?: string; uid?: string };
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  refresh?: number;
}

interface Target {
  expr?: string;
  refId?: string;
  format?: string;
  datasource?: { uid?: string };
}

interface Panel {
  id?: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  options?: { legend?: { showLegend?: boolean } };
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { x: number; y: number; w: number; h: number };
}

interface Dashboard {
  uid: string;
  title: string;
  editable?: boolean;
  templating: { list: Variable[] };
  panels: Panel[];
}

// The part of dashboard-linter's list of valid units (lint/rule_panel_units.go) that dashboards of this kind
// use: misc, short, data, data rate, time, throughput and boolean units.
const VALID_UNITS = new Set(
  [
    'none string short percent percentunit locale',
    'bytes decbytes bits decbits kbytes deckbytes mbytes decmbytes gbytes decgbytes',
    'pps binBps Bps binbps bps KiBs Kibits KBs Kbits MiBs Mibits MBs Mbits',
    'hertz ns µs ms s m h d dtdurationms dtdurations dthms dtdhms timeticks clockms clocks',
    'cps ops reqps rps wps iops cpm opm rpm wpm',
    'bool bool_yes_no bool_on_off',
  ]
    .join(' ')
    .split(' '),
);

const dashboards: Dashboard[] = renderDashboards().map(
  (d) => JSON.parse(readFileSync(join(DASHBOARDS_DIR, d.file), 'utf8')) as Dashboard,
);

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

function queryPanels(d: Dashboard): Panel[] {
  return allPanels(d.panels).filter((p) => p.type !== 'row');
}

describe('dashboard-linter rules', () => {
  it('covers the three dashboards', () => {
    assert.deepEqual(
      dashboards.map((d) => d.uid),
      ['tencent-live-overview', 'tencent-live-stream', 'tencent-live-receiver'],
    );
  });

  for (const d of dashboards) {
    describe(d.title, () => {
      const variable = (name: string): Variable | undefined => d.templating.list.find((v) => v.name === name);

      it('is not editable (uneditable-dashboard)', () => {
        assert.equal(d.editable, false);
      });

      it('has one datasource variable named datasource (template-datasource-rule)', () => {
        const datasources = d.templating.list.filter((v) => v.type === 'datasource');
        assert.equal(datasources.length, 1);
        assert.deepEqual(
          { name: datasources[0]?.name, label: datasources[0]?.label, query: datasources[0]?.query },
          { name: 'datasource', label: 'Data source', query: 'prometheus' },
        );
      });

      for (const name of ['job', 'instance']) {
        it(`has the ${name} variable (template-${name}-rule, template-on-time-change-reload-rule)`, () => {
          const v = variable(name);
          assert.ok(v, `no ${name} variable`);
          assert.equal(v.type, 'query');
          assert.equal(v.label, name[0]?.toUpperCase() + name.slice(1));
          assert.equal(v.datasource?.uid, '${datasource}');
          assert.equal(v.multi, true);
          assert.equal(v.includeAll, true);
          assert.equal(v.allValue, '.+');
          assert.equal(v.refresh, 2);
        });
      }

      it('has query variables that query the templated datasource with valid label_values() (template-label-promql-rule)', () => {
        for (const v of d.templating.list.filter((x) => x.type === 'query')) {
          assert.equal(v.datasource?.uid, '${datasource}', v.name);
          assert.equal(v.refresh, 2, v.name);
          assert.equal(typeof v.query, 'string', v.name);
          const match = /^label_values\((.+),\s*(\w+)\)$/.exec(v.query as string);
          assert.ok(match?.[1], `${v.name}: ${String(v.query)} is not label_values(selector, label)`);
          const problems = lintExpr(match[1]).filter((p) => !/lacks (job|instance)=~/.test(p));
          assert.deepEqual(problems, [], `${v.name}: ${String(v.query)}`);
          if (v.name !== 'job') assert.match(match[1], /job=~"\$job"/, `${v.name} ignores the job selection`);
        }
      });

      it('gives every panel a title, a description, a unit and the templated datasource', () => {
        const panels = queryPanels(d);
        assert.ok(panels.length > 0);
        for (const p of panels) {
          assert.ok(p.title?.trim(), `panel ${p.id} has no title (panel-title-description-rule)`);
          assert.ok(p.description?.trim(), `${p.title} has no description (panel-title-description-rule)`);
          const unit = p.fieldConfig?.defaults?.unit ?? '';
          assert.ok(
            VALID_UNITS.has(unit),
            `${p.title} has no or an invalid unit '${unit}' (panel-units-rule)`,
          );
          assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, p.title);
          assert.ok((p.targets ?? []).length > 0, `${p.title} has no targets (panel-no-targets-rule)`);
        }
      });

      it('gives every target an expression and a unique refId, and every timeseries a legend', () => {
        for (const p of queryPanels(d)) {
          const refIds = (p.targets ?? []).map((t) => t.refId);
          assert.ok(
            refIds.every((r) => r),
            `${p.title} has a target without refId`,
          );
          assert.equal(new Set(refIds).size, refIds.length, `${p.title} repeats a refId`);
          for (const t of p.targets ?? []) {
            assert.ok(t.expr?.trim(), `${p.title} ${t.refId} has no expression`);
            if (t.datasource) assert.equal(t.datasource.uid, '${datasource}', p.title);
          }
          if (p.type === 'timeseries')
            assert.equal(p.options?.legend?.showLegend, true, `${p.title} hides its legend`);
        }
      });

      it('keeps every target to the PromQL rules (target-promql, rate-interval, job, instance, counter-agg)', () => {
        for (const p of queryPanels(d)) {
          for (const t of p.targets ?? []) {
            const heatmap = p.type === 'heatmap' && t.format === 'heatmap';
            assert.deepEqual(lintExpr(t.expr ?? '', { heatmap }), [], `${p.title} ${t.refId}: ${t.expr}`);
          }
        }
      });

      it('keeps every target correct with several replicas', () => {
        for (const p of queryPanels(d)) {
          for (const t of p.targets ?? []) {
            assert.deepEqual(lintReplicas(t.expr ?? ''), [], `${p.title} ${t.refId}: ${t.expr}`);
          }
        }
      });

      it('numbers panels uniquely and lays them out without overlap inside 24 columns', () => {
        const panels = allPanels(d.panels);
        const ids = panels.map((p) => p.id);
        assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
        const taken = new Set<string>();
        for (const p of panels) {
          const g = p.gridPos;
          assert.ok(g, `${p.title} has no gridPos`);
          assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24, `${p.title} leaves the grid`);
          for (let x = g.x; x < g.x + g.w; x++) {
            for (let y = g.y; y < g.y + g.h; y++) {
              assert.ok(!taken.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
              taken.add(`${x},${y}`);
            }
          }
        }
      });
    });
  }
});

describe('the PromQL checker', () => {
  const scope = 'job=~"$job", instance=~"$instance"';

  it('accepts a well-formed counter query', () => {
    assert.deepEqual(lintExpr(`sum by (reason) (rate(x_total{${scope}}[$__rate_interval]))`), []);
    assert.deepEqual(
      lintReplicas(`sum by (reason) (rate(tencent_live_x_total{${scope}}[$__rate_interval]))`),
      [],
    );
  });

  it('rejects a range other than $__rate_interval', () => {
    assert.deepEqual(lintExpr(`sum(rate(x_total{${scope}}[5m]))`), [
      `range of x_total{${scope}}[5m] is not [$__rate_interval]`,
    ]);
    assert.equal(lintExpr(`sum(increase(x_total{${scope}}[$__range]))`).length, 1);
  });

  it('rejects a range selector outside rate(), irate() and increase()', () => {
    assert.deepEqual(lintExpr(`max_over_time(x{${scope}}[$__rate_interval])`), [
      `range selector x{${scope}}[$__rate_interval] is not directly inside rate(), irate() or increase()`,
    ]);
  });

  it('rejects a selector without the job or instance matcher', () => {
    assert.deepEqual(lintExpr('up{job=~"$job"}'), ['selector up{job=~"$job"} lacks instance=~"$instance"']);
    assert.deepEqual(lintExpr('up{job="x", instance=~"$instance"}'), [
      'selector up{job="x", instance=~"$instance"} lacks job=~"$job"',
    ]);
  });

  it('rejects a counter that is not directly inside rate(), irate() or increase()', () => {
    assert.deepEqual(lintExpr(`sum(x_total{${scope}})`), [
      'counter x_total is not directly inside rate(), irate() or increase()',
    ]);
    assert.ok(
      lintExpr(`rate(sum_over_time(x_total{${scope}}[$__rate_interval])[$__rate_interval:])`).length > 0,
    );
  });

  it('rejects histogram buckets outside histogram_quantile(), except in heatmaps', () => {
    const expr = `sum by (le) (rate(x_bucket{${scope}}[$__rate_interval]))`;
    assert.deepEqual(lintExpr(expr), ['histogram series x_bucket is not inside histogram_quantile()']);
    assert.deepEqual(lintExpr(expr, { heatmap: true }), []);
  });

  it('rejects invalid PromQL and unknown variables', () => {
    assert.ok(lintExpr(`sum(rate(x_total{${scope}}[$__rate_interval])`).length > 0);
    assert.ok(lintExpr(`rate(x_total{${scope}}[$__rate_interval]) > $threshold`).length > 0);
  });

  it('rejects counters kept per instance and shared-state gauges added up across replicas', () => {
    const counter = `rate(tencent_live_x_total{${scope}}[$__rate_interval])`;
    assert.equal(lintReplicas(counter).length, 1);
    assert.equal(lintReplicas(`sum by (instance) (${counter})`).length, 1);
    assert.deepEqual(lintReplicas(`sum without (instance) (${counter})`), []);
    const gauge = `tencent_live_streams_active{${scope}}`;
    assert.equal(lintReplicas(`sum(${gauge})`).length, 1);
    assert.equal(lintReplicas(`max by (instance) (${gauge})`).length, 1);
    assert.deepEqual(lintReplicas(`sum(max by (job, domain, app_name) (${gauge}))`), []);
    assert.deepEqual(lintReplicas(`sum(max without (instance) (${gauge}))`), []);
  });
});
