// Regenerates grafana/dashboards/*.json from the TypeScript sources:
//   node --import tsx grafana/src/build.ts
// The generated files are committed; test/grafana/dashboards.test.ts fails when they are stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DASHBOARDS_DIR, renderDashboards } from './dashboards.js';

const dashboards = renderDashboards();
mkdirSync(DASHBOARDS_DIR, { recursive: true });
const wanted = new Set(dashboards.map((d) => d.file));
// A renamed dashboard must not leave its old file behind for Grafana to keep provisioning.
for (const file of readdirSync(DASHBOARDS_DIR)) {
  if (file.endsWith('.json') && !wanted.has(file)) {
    rmSync(join(DASHBOARDS_DIR, file));
    console.log(`removed ${file}`);
  }
}
for (const d of dashboards) {
  writeFileSync(join(DASHBOARDS_DIR, d.file), d.text);
  console.log(`wrote ${d.file}`);
}
