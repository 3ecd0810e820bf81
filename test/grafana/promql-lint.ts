// The grafana/dashboard-linter target rules (its Go source: lint/rule_target_*.go), re-done over the lezer PromQL
// grammar because the linter itself cannot be installed here, plus the multi-replica rules of OBSERVABILITY.md.
// Each function returns a list of problems; empty means clean.
import { parser } from '@prometheus-io/lezer-promql';

import { substituteVariables } from '../../grafana/src/queries.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/**
 * Grafana's global variables become durations/numbers nobody would type, so the parser accepts them and the
 * rules can still tell `[$__rate_interval]` from any other range. Dashboard variables stay as they are: they
 * only ever appear inside label-matcher strings, which the parser takes as is (anywhere else the parse fails).
 */
const LINT_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: '7331s',
  __interval: '7332s',
  __range: '7333s',
  __interval_ms: '7334',
  __range_s: '7335',
  __range_ms: '7336',
  job: '$job',
  instance: '$instance',
  stream_id: '$stream_id',
};
const RATE_INTERVAL = LINT_VALUES.__rate_interval;

/** Counters that every replica increments for the events it received: sum them across instances. */
const COUNTER_PREFIX = 'tencent_live_';
/** Gauges that every replica reports from the shared state store: never add them up across instances. */
export const SHARED_STATE_GAUGES = ['tencent_live_streams_active', 'tencent_live_stream_up'];

const RANGE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

interface Parsed {
  src: string;
  nodes: SyntaxNode[];
  text(node: SyntaxNode): string;
  /** The node's text as written in the dashboard (placeholders turned back into variables), for messages. */
  show(node: SyntaxNode): string;
}

function restore(text: string): string {
  let restored = text;
  for (const [name, value] of Object.entries(LINT_VALUES)) {
    if (value !== `$${name}`) restored = restored.split(value).join(`$${name}`);
  }
  return restored;
}

function parse(expr: string): Parsed {
  const src = substituteVariables(expr, LINT_VALUES);
  const tree = parser.parse(src);
  const nodes: SyntaxNode[] = [];
  const cursor = tree.cursor();
  do nodes.push(cursor.node);
  while (cursor.next());
  const text = (node: SyntaxNode): string => src.slice(node.from, node.to);
  return { src, nodes, text, show: (node) => restore(text(node)) };
}

function isA(node: SyntaxNode | null, name: string): node is SyntaxNode {
  return node !== null && node.name === name;
}

/** The function whose argument `node` is, directly: `rate` for the matrix selector in `rate(x[1m])`. */
function directFunction(p: Parsed, node: SyntaxNode): string | undefined {
  const body = node.parent;
  const call = body?.parent ?? null;
  if (!isA(body, 'FunctionCallBody') || !isA(call, 'FunctionCall')) return undefined;
  const id = call.getChild('FunctionIdentifier');
  return id ? p.text(id) : undefined;
}

interface Matcher {
  name: string;
  op: string;
  value: string;
}

function matchers(p: Parsed, selector: SyntaxNode): Matcher[] {
  const list = selector.getChild('LabelMatchers');
  if (!list) return [];
  return list.getChildren('UnquotedLabelMatcher').map((m) => {
    const name = m.getChild('LabelName');
    const op = m.getChild('MatchOp');
    const value = m.getChild('StringLiteral');
    return {
      name: name ? p.text(name) : '',
      op: op ? p.text(op) : '',
      value: value ? (JSON.parse(p.text(value)) as string) : '',
    };
  });
}

function metricName(p: Parsed, selector: SyntaxNode): string {
  const id = selector.getChild('Identifier');
  if (id) return p.text(id);
  return matchers(p, selector).find((m) => m.name === '__name__' && m.op === '=')?.value ?? '';
}

function ancestors(node: SyntaxNode): SyntaxNode[] {
  const list: SyntaxNode[] = [];
  for (let n = node.parent; n !== null; n = n.parent) list.push(n);
  return list;
}

interface Aggregation {
  op: string;
  /** `by` or `without`, '' when there is no modifier. */
  modifier: string;
  labels: string[];
}

function aggregation(p: Parsed, node: SyntaxNode): Aggregation {
  const op = node.getChild('AggregateOp');
  const modifier = node.getChild('AggregateModifier');
  const kind = modifier?.getChild('By') ? 'by' : modifier?.getChild('Without') ? 'without' : '';
  const labels = modifier?.getChild('GroupingLabels')?.getChildren('LabelName') ?? [];
  return { op: op ? p.text(op) : '', modifier: kind, labels: labels.map((l) => p.text(l)) };
}

function nearestAggregation(p: Parsed, node: SyntaxNode): Aggregation | undefined {
  const found = ancestors(node).find((n) => n.name === 'AggregateExpr');
  return found ? aggregation(p, found) : undefined;
}

/** Does the aggregation drop the instance label (and so merge the replicas)? */
function mergesInstances(a: Aggregation): boolean {
  return a.modifier === 'without' ? a.labels.includes('instance') : !a.labels.includes('instance');
}

export interface LintOptions {
  /** Heatmap targets keep `_bucket` series outside histogram_quantile() on purpose. */
  heatmap?: boolean;
}

/** The dashboard-linter target rules: promql, rate-interval, job, instance, counter-agg (and histogram). */
export function lintExpr(expr: string, options: LintOptions = {}): string[] {
  const problems: string[] = [];
  let p: Parsed;
  try {
    p = parse(expr);
  } catch (error) {
    return [(error as Error).message];
  }
  for (const node of p.nodes) {
    if (node.type.isError) {
      problems.push(
        `syntax error at ${node.from}: ${JSON.stringify(restore(p.src.slice(node.from, node.from + 20)))}`,
      );
      continue;
    }
    if (node.name === 'MatrixSelector') {
      const fn = directFunction(p, node);
      const range = node.getChild('DurationExpr');
      if (!fn || !RANGE_FUNCTIONS.has(fn)) {
        problems.push(`range selector ${p.show(node)} is not directly inside rate(), irate() or increase()`);
      }
      if (!range || p.text(range) !== RATE_INTERVAL) {
        problems.push(`range of ${p.show(node)} is not [$__rate_interval]`);
      }
    }
    if (node.name === 'VectorSelector') {
      const found = matchers(p, node);
      for (const [label, value] of [
        ['job', '$job'],
        ['instance', '$instance'],
      ] as const) {
        if (!found.some((m) => m.name === label && m.op === '=~' && m.value === value)) {
          problems.push(`selector ${p.show(node)} lacks ${label}=~"${value}"`);
        }
      }
      const name = metricName(p, node);
      if (name.endsWith('_total')) {
        const matrix = node.parent;
        const fn = isA(matrix, 'MatrixSelector') ? directFunction(p, matrix) : undefined;
        if (!fn || !RANGE_FUNCTIONS.has(fn)) {
          problems.push(`counter ${name} is not directly inside rate(), irate() or increase()`);
        }
      }
      if (name.endsWith('_bucket') && !options.heatmap) {
        const inQuantile = ancestors(node).some(
          (n) => n.name === 'FunctionCall' && p.text(n).startsWith('histogram_quantile'),
        );
        if (!inQuantile) problems.push(`histogram series ${name} is not inside histogram_quantile()`);
      }
    }
  }
  return problems;
}

/**
 * Several replicas behind one load balancer: each counts the callbacks it received, so counters are summed
 * across instances; every replica reports the shared state, so state gauges take the max per job instead.
 */
export function lintReplicas(expr: string): string[] {
  const problems: string[] = [];
  const p = parse(expr);
  for (const node of p.nodes) {
    if (node.name !== 'VectorSelector') continue;
    const name = metricName(p, node);
    if (SHARED_STATE_GAUGES.includes(name)) {
      const agg = nearestAggregation(p, node);
      const ok =
        agg !== undefined &&
        (agg.op === 'max' || agg.op === 'min') &&
        mergesInstances(agg) &&
        (agg.modifier === 'without' || agg.labels.includes('job'));
      if (!ok) problems.push(`${name} must be taken as max by (job, …) or max without (instance)`);
    } else if (name.startsWith(COUNTER_PREFIX) && (name.endsWith('_total') || name.endsWith('_bucket'))) {
      const agg = nearestAggregation(p, node);
      if (agg === undefined || agg.op !== 'sum' || !mergesInstances(agg)) {
        problems.push(`${name} must be summed across instances (sum without the instance label)`);
      }
    }
  }
  return problems;
}
