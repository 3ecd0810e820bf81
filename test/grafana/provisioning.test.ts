// The Grafana provisioning files parse and point at the generated dashboards and the Prometheus data source
// their variables expect.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

import { renderDashboards } from '../../grafana/src/dashboards.js';

const root = new URL('../../grafana/provisioning/', import.meta.url);

function load(path: string): Record<string, unknown> {
  return parse(readFileSync(new URL(path, root), 'utf8')) as Record<string, unknown>;
}

describe('Grafana provisioning', () => {
  it('provisions the dashboard files from /var/lib/grafana/dashboards into the Tencent Live folder', () => {
    const config = load('dashboards/tencent-live.yaml');
    assert.equal(config.apiVersion, 1);
    const providers = config.providers as Record<string, unknown>[];
    assert.equal(providers.length, 1);
    const provider = providers[0] ?? {};
    assert.equal(provider.type, 'file');
    assert.equal(provider.folder, 'Tencent Live');
    assert.deepEqual(provider.options, {
      path: '/var/lib/grafana/dashboards',
      foldersFromFilesStructure: false,
    });
    // The dashboards are generated and not editable: UI changes would be lost on the next build.
    assert.equal(provider.allowUiUpdates, false);
  });

  it('provisions the default Prometheus data source with the stable uid prometheus', () => {
    const config = load('datasources/prometheus.yaml');
    assert.equal(config.apiVersion, 1);
    const datasources = config.datasources as Record<string, unknown>[];
    assert.equal(datasources.length, 1);
    const ds = datasources[0] ?? {};
    assert.equal(ds.uid, 'prometheus');
    assert.equal(ds.type, 'prometheus');
    assert.equal(ds.url, 'http://prometheus:9090');
    assert.equal(ds.isDefault, true);
    assert.equal(ds.access, 'proxy');
  });

  it('matches the dashboards: their datasource variable lists prometheus data sources, uids are valid', () => {
    const uids = new Set<string>();
    for (const d of renderDashboards()) {
      const model = JSON.parse(d.text) as {
        uid: string;
        templating: { list: { type: string; name: string; query?: unknown }[] };
      };
      assert.match(model.uid, /^[A-Za-z0-9_-]{1,40}$/, `${d.file}: Grafana uids are at most 40 characters`);
      assert.ok(!uids.has(model.uid), `duplicate uid ${model.uid}`);
      uids.add(model.uid);
      assert.equal(d.file, `${model.uid}.json`);
      const variable = model.templating.list.find((v) => v.type === 'datasource');
      assert.equal(variable?.query, 'prometheus', `${d.file} cannot select the provisioned data source`);
    }
  });
});
