// Every panel query of the generated dashboards, ready for a real Prometheus: tests type-check them with
// promtool and run them against a Prometheus that scraped the real service.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { DASHBOARDS_DIR } from './dashboards.js';

export interface PanelQuery {
  /** Dashboard uid, e.g. `tencent-live-overview`. */
  dashboard: string;
  /** Panel title. */
  panel: string;
  /** PromQL with every Grafana variable replaced. */
  expr: string;
}

/**
 * What Grafana would put in place of each variable, for a Prometheus scraping every 15 s, a 5 min dashboard
 * range and "All" selected everywhere. `$__interval` and `$__interval_ms` agree, and `$__rate_interval` is at
 * least four scrape intervals, as Grafana computes it.
 */
export const PROMETHEUS_VALUES: Readonly<Record<string, string>> = Object.freeze({
  __rate_interval: '1m',
  __interval: '15s',
  __interval_ms: '15000',
  __range: '5m',
  __range_s: '300',
  __range_ms: '300000',
  job: '.+',
  instance: '.+',
  stream_id: '.+',
});

// $name, ${name}, ${name:format} and [[name]]: the variable syntaxes Grafana understands.
const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g;

/** Replaces every Grafana variable; throws on a variable it has no value for, so nothing slips through. */
export function substituteVariables(
  expr: string,
  values: Readonly<Record<string, string>> = PROMETHEUS_VALUES,
): string {
  return expr.replace(VARIABLE, (whole, braced?: string, plain?: string, bracketed?: string) => {
    const name = braced ?? plain ?? bracketed ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`no value for Grafana variable ${whole} in: ${expr}`);
    return value;
  });
}

interface PanelLike {
  title?: string;
  targets?: { expr?: string }[];
  panels?: PanelLike[];
}

/** Every panel expression of every dashboard JSON in `dir`, variables substituted, in file and layout order. */
export function allPanelQueries(dir: string = DASHBOARDS_DIR): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const model = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { uid: string; panels?: PanelLike[] };
    const visit = (panels: PanelLike[] | undefined): void => {
      for (const panel of panels ?? []) {
        for (const target of panel.targets ?? []) {
          if (typeof target.expr !== 'string') continue;
          queries.push({
            dashboard: model.uid,
            panel: panel.title ?? '',
            expr: substituteVariables(target.expr),
          });
        }
        visit(panel.panels); // panels inside collapsed rows
      }
    };
    visit(model.panels);
  }
  return queries;
}
