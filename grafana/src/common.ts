// Shared building blocks for the Tencent Live dashboards.
//
// Every dashboard follows the grafana/dashboard-linter rules (docs in OBSERVABILITY.md): a `datasource` variable,
// `job` and `instance` variables, `${datasource}` on every panel, `[$__rate_interval]` ranges, `job=~"$job",
// instance=~"$instance"` on every selector, counters only directly inside rate()/irate()/increase(), and
// `editable: false`. The helpers here make the right thing the easy thing; test/grafana checks the result.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Panels and variables query whatever Prometheus the `datasource` variable names. */
export const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Every dashboard carries this tag; the dashboard links list the dashboards that have it. */
export const TAG = 'tencent-live';

/** Stable dashboard uids: provisioning, links and bookmarks rely on them. */
export const UIDS = {
  overview: 'tencent-live-overview',
  stream: 'tencent-live-stream',
  receiver: 'tencent-live-receiver',
} as const;

/** The matchers every selector carries. */
export const SCOPE = 'job=~"$job", instance=~"$instance"';

/** `metric{job=~"$job", instance=~"$instance", …extra}` */
export function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${[SCOPE, ...matchers].join(', ')}}`;
}

/** Per-second rate of a counter over `$__rate_interval` (the range Grafana sizes to the scrape interval). */
export function rate(metric: string, ...matchers: string[]): string {
  return `rate(${sel(metric, ...matchers)}[$__rate_interval])`;
}

/** `sum by (labels) (rate(…))`, summed across replicas: every callback is counted by exactly one replica. */
export function sumRate(by: readonly string[], metric: string, ...matchers: string[]): string {
  return sum(by, rate(metric, ...matchers));
}

/** `sum(inner)` or `sum by (labels) (inner)`. */
export function sum(by: readonly string[], inner: string): string {
  return by.length === 0 ? `sum(${inner})` : `sum by (${by.join(', ')}) (${inner})`;
}

/**
 * A gauge that every replica reports from the shared state store (sqlite alone, or Redis for several replicas):
 * replicas of one job agree, so take the max per job and series (`labels`: every label of the metric itself,
 * so that extra target labels such as a pod name do not split it) before summing across jobs `by` labels.
 */
export function sharedGauge(
  by: readonly string[],
  metric: string,
  labels: readonly string[],
  ...matchers: string[]
): string {
  return sum(by, `max by (${['job', ...labels].join(', ')}) (${sel(metric, ...matchers)})`);
}

/** `histogram_quantile(q, sum by (…, le) (rate(metric_bucket[$__rate_interval])))` */
export function quantile(q: number, histogram: string, by: readonly string[] = []): string {
  return `histogram_quantile(${q}, sum by (${[...by, 'le'].join(', ')}) (${rate(`${histogram}_bucket`)}))`;
}

/**
 * Events counted over the whole dashboard range, without `increase(…[$__range])` (the linter rules allow only
 * `[$__rate_interval]` ranges): integrate the per-second rate over the range with a subquery. The step is
 * `$__interval`, always shorter than `$__rate_interval`, so consecutive rate windows overlap and no event falls
 * between two samples.
 */
export function totalOverRange(by: readonly string[], metric: string, ...matchers: string[]): string {
  return `sum_over_time(${sumRate(by, metric, ...matchers)}[$__range:$__interval]) * $__interval_ms / 1000`;
}

export interface Target {
  expr: string;
  /** Grafana legend template, e.g. `{{reason}}`. */
  legend: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  /** A Grafana unit id (valueFormats), checked against the dashboard-linter's list in the tests. */
  unit: string;
  targets: Target[];
  width?: number;
  height?: number;
}

const REF_IDS = 'ABCDEFGHIJ';

function refId(index: number): string {
  const id = REF_IDS[index];
  if (id === undefined) throw new Error(`too many targets in one panel (${index + 1})`);
  return id;
}

/** What every panel builder of the SDK offers; each returns the builder itself. */
interface PanelBasics<B> {
  title(title: string): B;
  description(description: string): B;
  unit(unit: string): B;
  datasource(datasource: common.DataSourceRef): B;
  targets(targets: prometheus.DataqueryBuilder[]): B;
  span(span: number): B;
  height(height: number): B;
}

/** The settings every panel shares: title, description, unit, `${datasource}`, its queries and its size. */
function basics<B extends PanelBasics<B>>(
  builder: B,
  spec: PanelSpec,
  query: (target: Target, index: number) => prometheus.DataqueryBuilder,
  size: { width: number; height: number },
): B {
  return builder
    .title(spec.title)
    .description(spec.description)
    .unit(spec.unit)
    .datasource(DATASOURCE)
    .targets(spec.targets.map(query))
    .span(spec.width ?? size.width)
    .height(spec.height ?? size.height);
}

function rangeQuery(target: Target, index: number): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .expr(target.expr)
    .legendFormat(target.legend)
    .range()
    .refId(refId(index));
}

function instantQuery(target: Target, index: number): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder()
    .expr(target.expr)
    .legendFormat(target.legend)
    .instant()
    .refId(refId(index));
}

export interface TimeseriesSpec extends PanelSpec {
  stack?: boolean;
  min?: number;
  max?: number;
  /** Step lines for 0/1 state series. */
  steps?: boolean;
  mappings?: dashboard.ValueMapping[];
}

export function timeseriesPanel(spec: TimeseriesSpec): timeseries.PanelBuilder {
  const panel = basics(new timeseries.PanelBuilder(), spec, rangeQuery, { width: 12, height: 8 })
    .fillOpacity(spec.stack ? 30 : 10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Multi)
        .sort(common.SortOrder.Descending),
    );
  if (spec.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  if (spec.steps) panel.lineInterpolation(common.LineInterpolation.StepAfter);
  if (spec.mappings) panel.mappings(spec.mappings);
  return panel;
}

export interface StatSpec extends PanelSpec {
  thresholds?: dashboard.Threshold[];
  mappings?: dashboard.ValueMapping[];
  /** Colour the background (state) rather than the number (quantities). */
  background?: boolean;
}

export function statPanel(spec: StatSpec): stat.PanelBuilder {
  const panel = basics(new stat.PanelBuilder(), spec, instantQuery, { width: 6, height: 4 })
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(spec.background ? common.BigValueColorMode.Background : common.BigValueColorMode.Value)
    .textMode(common.BigValueTextMode.Auto)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(false).calcs(['lastNotNull']))
    .thresholds(
      new dashboard.ThresholdsConfigBuilder()
        .mode(dashboard.ThresholdsMode.Absolute)
        .steps(spec.thresholds ?? [{ value: null, color: 'text' }]),
    );
  if (spec.mappings) panel.mappings(spec.mappings);
  return panel;
}

export interface TableSpec extends PanelSpec {
  /** Column order; the value column is renamed to `valueName`. Every other column (Time) is hidden. */
  columns: string[];
  valueName: string;
  /** Data links per column, e.g. from a stream_id to the Stream dashboard. */
  links?: Record<string, DataLink[]>;
}

/** A field data link (Grafana percent-encodes the values it interpolates into `url`). */
export interface DataLink {
  title: string;
  url: string;
  targetBlank: boolean;
}

export function tablePanel(spec: TableSpec): table.PanelBuilder {
  const order = [...spec.columns, 'Value'];
  const tableQuery = (target: Target, index: number) =>
    instantQuery(target, index).format(prometheus.PromQueryFormat.Table);
  const panel = basics(new table.PanelBuilder(), spec, tableQuery, { width: 12, height: 8 })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { Time: true },
        indexByName: Object.fromEntries(order.map((name, index) => [name, index])),
        renameByName: { Value: spec.valueName },
      },
    })
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(spec.valueName).desc(true)]);
  for (const [column, links] of Object.entries(spec.links ?? {})) {
    panel.overrideByName(column, [{ id: 'links', value: links }]);
  }
  return panel;
}

export function heatmapPanel(spec: PanelSpec): heatmap.PanelBuilder {
  const heatmapQuery = (target: Target, index: number) =>
    rangeQuery(target, index).format(prometheus.PromQueryFormat.Heatmap);
  return basics(new heatmap.PanelBuilder(), spec, heatmapQuery, { width: 12, height: 8 })
    .calculate(false)
    .yAxis(new heatmap.YAxisConfigBuilder().unit(spec.unit))
    .color(
      new heatmap.HeatmapColorOptionsBuilder()
        .mode(heatmap.HeatmapColorMode.Scheme)
        .scheme('Oranges')
        .scale(heatmap.HeatmapColorScale.Exponential)
        .exponent(0.5)
        .steps(64),
    )
    .tooltip(new heatmap.HeatmapTooltipBuilder().mode(common.TooltipDisplayMode.Single).yHistogram(true))
    .showLegend();
}

/** 0/1 state shown as words. */
export function upDownMappings(down: string, up: string): dashboard.ValueMapping[] {
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: { '0': { text: down, color: 'red', index: 0 }, '1': { text: up, color: 'green', index: 1 } },
    },
  ];
}

const ALL: dashboard.VariableOption = { selected: true, text: 'All', value: '$__all' };

function scopeVariable(
  name: 'job' | 'instance',
  label: string,
  query: string,
): dashboard.QueryVariableBuilder {
  // A label variable that starts on All and sorts job/instance names as they are.
  return labelVariable(name, label, query).current(ALL).sort(dashboard.VariableSort.AlphabeticalAsc);
}

/** A multi-value query variable over one label, `.+` when All is chosen (Grafana regex-escapes the values). */
export function labelVariable(name: string, label: string, query: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .multi(true)
    .includeAll(true)
    .allValue('.+')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalCaseInsensitiveAsc);
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  /** Variables after datasource, job and instance. */
  variables?: dashboard.QueryVariableBuilder[];
}

export function baseDashboard(spec: DashboardSpec): dashboard.DashboardBuilder {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([TAG])
    .readonly()
    .timezone('browser')
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(
      new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'),
    )
    .withVariable(scopeVariable('job', 'Job', 'label_values(tencent_live_build_info, job)'))
    .withVariable(
      scopeVariable('instance', 'Instance', 'label_values(tencent_live_build_info{job=~"$job"}, instance)'),
    )
    .link(
      new dashboard.DashboardLinkBuilder('Tencent Live')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([TAG])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true)
        .targetBlank(false),
    );
  for (const variable of spec.variables ?? []) builder.withVariable(variable);
  return builder;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The raw dashboard model as committed: panel ids numbered in layout order (the SDK leaves them unset, Grafana
 * needs them for links and "view panel") and object keys sorted so the output never depends on the SDK's
 * insertion order.
 */
export function toModel(builder: dashboard.DashboardBuilder): Json {
  const model = builder.build();
  let id = 0;
  const number = (panels: { id?: number; panels?: unknown }[] | undefined): void => {
    for (const panel of panels ?? []) {
      panel.id = ++id;
      if (Array.isArray(panel.panels)) number(panel.panels as { id?: number }[]);
    }
  };
  number(model.panels as { id?: number }[] | undefined);
  // The SDK defaults dashboard links to Grafana 12's controls menu; keep them visible above the panels.
  for (const link of model.links ?? []) delete link.placement;
  return sortKeys(JSON.parse(JSON.stringify(model)) as Json);
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key] as Json)]),
  );
}
