// The three dashboards, rendered exactly as committed under grafana/dashboards/.
import { fileURLToPath } from 'node:url';

import type { Json } from './common.js';
import { overviewDashboard } from './overview.js';
import { receiverDashboard } from './receiver.js';
import { streamDashboard } from './stream.js';

/** Where the generated dashboards live (mounted into Grafana at /var/lib/grafana/dashboards). */
export const DASHBOARDS_DIR = fileURLToPath(new URL('../dashboards/', import.meta.url));

export interface RenderedDashboard {
  uid: string;
  /** File name inside DASHBOARDS_DIR: `<uid>.json`. */
  file: string;
  /** Two-space indented JSON with sorted keys and a trailing newline. */
  text: string;
}

export function renderDashboards(): RenderedDashboard[] {
  return [overviewDashboard(), streamDashboard(), receiverDashboard()].map(render);
}

function render(model: Json): RenderedDashboard {
  if (model === null || typeof model !== 'object' || Array.isArray(model) || typeof model.uid !== 'string') {
    throw new Error('a dashboard model must be an object with a string uid');
  }
  return { uid: model.uid, file: `${model.uid}.json`, text: `${JSON.stringify(model, null, 2)}\n` };
}
