// The committed dashboards are exactly what the TypeScript sources build (run
// `node --import tsx grafana/src/build.ts` after changing grafana/src), and keep their stable uids.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { DASHBOARDS_DIR, renderDashboards } from '../../grafana/src/dashboards.js';

const REGENERATE = 'stale: run `node --import tsx grafana/src/build.ts` and commit grafana/dashboards/';

describe('generated dashboards', () => {
  const rendered = renderDashboards();

  it('builds the three dashboards with their stable uids and titles', () => {
    assert.deepEqual(
      rendered.map((d) => {
        const model = JSON.parse(d.text) as { uid: string; title: string };
        return [d.file, model.uid, model.title];
      }),
      [
        ['tencent-live-overview.json', 'tencent-live-overview', 'Tencent Live / Overview'],
        ['tencent-live-stream.json', 'tencent-live-stream', 'Tencent Live / Stream'],
        ['tencent-live-receiver.json', 'tencent-live-receiver', 'Tencent Live / Receiver'],
      ],
    );
  });

  it('commits exactly the files a fresh build writes', () => {
    const committed = readdirSync(DASHBOARDS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(committed, rendered.map((d) => d.file).sort(), REGENERATE);
  });

  for (const d of rendered) {
    it(`${d.file} equals a fresh build`, () => {
      assert.equal(readFileSync(join(DASHBOARDS_DIR, d.file), 'utf8'), d.text, REGENERATE);
    });
  }

  it('is deterministic: sorted keys, two-space indent, trailing newline, same text on every build', () => {
    const again = renderDashboards();
    for (const [i, d] of rendered.entries()) {
      assert.equal(again[i]?.text, d.text, `${d.file} differs between two builds`);
      assert.ok(d.text.endsWith('}\n') && !d.text.endsWith('\n\n'), `${d.file} lacks one trailing newline`);
      const sorted = (value: unknown): boolean => {
        if (Array.isArray(value)) return value.every(sorted);
        if (value === null || typeof value !== 'object') return true;
        const keys = Object.keys(value);
        return keys.every((k, j) => j === 0 || (keys[j - 1] ?? '') < k) && Object.values(value).every(sorted);
      };
      assert.ok(sorted(JSON.parse(d.text)), `${d.file} has unsorted keys`);
      assert.equal(d.text, `${JSON.stringify(JSON.parse(d.text), null, 2)}\n`);
    }
  });

  it('holds raw dashboard models that Grafana can provision', () => {
    for (const d of rendered) {
      const model = JSON.parse(d.text) as Record<string, unknown>;
      assert.equal(model.dashboard, undefined, `${d.file} is wrapped in an API envelope`);
      assert.equal(typeof model.schemaVersion, 'number', d.file);
      assert.equal(model.id, undefined, `${d.file} carries an instance-specific id`);
      assert.deepEqual(model.tags, ['tencent-live'], d.file);
    }
  });

  it("shows 0, not 'No data', in the Overview's stats when their series do not exist (nothing live, no event yet)", () => {
    const overview = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'tencent-live-overview.json'), 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    const stats = overview.panels.filter((p) => p.type === 'stat');
    assert.ok(stats.some((p) => p.title === 'Live streams'));
    for (const panel of stats)
      for (const target of panel.targets ?? []) assert.match(target.expr, / or vector\(0\)$/, panel.title);
  });

  it('links the Overview stream table to the Stream dashboard by uid and variable', () => {
    const overview = readFileSync(join(DASHBOARDS_DIR, 'tencent-live-overview.json'), 'utf8');
    assert.match(overview, /\/d\/tencent-live-stream\/[^"]*\?var-stream_id=\$\{__value\.raw\}/);
    const stream = JSON.parse(readFileSync(join(DASHBOARDS_DIR, 'tencent-live-stream.json'), 'utf8')) as {
      templating: { list: { name: string }[] };
    };
    assert.ok(stream.templating.list.some((v) => v.name === 'stream_id'));
  });
});
