// The compose demo stack (docker-compose.yml) without Docker: every bind-mounted host path exists, the services
// agree with each other (ports, job name, keys, container paths), and Prometheus' configuration passes
// `promtool check config` with its rule files resolved through the compose mounts to the repository's files.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPOSE_FILE = 'docker-compose.yml';
const PROMETHEUS_CONFIG = 'deploy/prometheus/prometheus.yml';
const JOB = 'tencent-live-exporter';

interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: string[];
  volumes?: (string | { type: string; source: string; target: string })[];
  profiles?: string[];
  depends_on?: string[] | Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}
interface Mount {
  service: string;
  bind: boolean;
  source: string; // repository-relative path for binds, the volume name otherwise
  target: string;
}
interface PrometheusConfig {
  global: { scrape_interval: string };
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

const compose = parse(readFileSync(join(ROOT, COMPOSE_FILE), 'utf8')) as Compose;
const prometheusConfig = parse(readFileSync(join(ROOT, PROMETHEUS_CONFIG), 'utf8')) as PrometheusConfig;

function service(name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `service ${name} missing from ${COMPOSE_FILE}`);
  return found;
}

function mountsOf(name: string): Mount[] {
  return (service(name).volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      const bind = volume.type === 'bind';
      return {
        service: name,
        bind,
        source: bind ? posix.normalize(volume.source) : volume.source,
        target: volume.target,
      };
    }
    const [source = '', target = ''] = volume.split(':');
    const bind = /^[./~]/.test(source);
    return { service: name, bind, source: bind ? posix.normalize(source) : source, target };
  });
}

const allMounts = Object.keys(compose.services).flatMap(mountsOf);

/** The host path (repository-relative) behind a container path of a service, through its bind mounts. */
function hostPath(name: string, containerPath: string): string | undefined {
  for (const mount of mountsOf(name)) {
    if (!mount.bind) continue;
    if (containerPath === mount.target) return mount.source;
    if (containerPath.startsWith(`${mount.target}/`)) {
      return posix.join(mount.source, containerPath.slice(mount.target.length + 1));
    }
  }
  return undefined;
}

function environment(name: string): Record<string, string> {
  const env = service(name).environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

function argv(value: string[] | string | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : value.split(/\s+/).filter(Boolean);
}

function flag(args: string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

describe('docker-compose.yml', () => {
  it('has the five services, traffic only in the demo profile', () => {
    for (const name of ['exporter', 'prometheus', 'alertmanager', 'grafana', 'traffic']) service(name);
    assert.deepEqual(service('traffic').profiles, ['demo']);
    for (const name of ['exporter', 'prometheus', 'alertmanager', 'grafana']) {
      assert.equal(service(name).profiles, undefined, `${name} must start without a profile`);
    }
  });

  it('bind-mounts only host paths that exist in the repository', () => {
    const binds = allMounts.filter((mount) => mount.bind);
    assert.ok(binds.length > 0);
    const missing = binds.filter((mount) => !existsSync(join(ROOT, mount.source)));
    assert.deepEqual(
      missing.map((mount) => `${mount.service}: ${mount.source}`),
      [],
      'bind-mounted paths missing from the repository',
    );
    for (const mount of binds) {
      assert.ok(
        mount.source.startsWith('./') || !mount.source.startsWith('/'),
        `${mount.source}: keep it relative`,
      );
      assert.ok(!mount.source.startsWith('..'), `${mount.source}: outside the repository`);
      // A file mounted where the container expects a file (…/x.yml), a directory elsewhere.
      const isFile = statSync(join(ROOT, mount.source)).isFile();
      assert.equal(
        isFile,
        /\.ya?ml$/.test(mount.target),
        `${mount.service}: ${mount.source} -> ${mount.target}`,
      );
    }
  });

  it('declares every named volume and builds from a context with a Dockerfile', () => {
    const declared = Object.keys(compose.volumes ?? {});
    for (const mount of allMounts.filter((m) => !m.bind)) {
      assert.ok(declared.includes(mount.source), `${mount.service}: volume ${mount.source} not declared`);
    }
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build === undefined) continue;
      const context = typeof svc.build === 'string' ? svc.build : svc.build.context;
      const dockerfile =
        typeof svc.build === 'string' ? 'Dockerfile' : (svc.build.dockerfile ?? 'Dockerfile');
      assert.ok(existsSync(join(ROOT, context, dockerfile)), `${name}: ${context}/${dockerfile} missing`);
    }
  });

  it('runs the exporter with a demo key, metrics on the compose network, callbacks published, state on a volume', () => {
    const env = environment('exporter');
    assert.equal(env.TENCENT_LIVE_METRICS_LISTEN, '0.0.0.0:9877');
    // A Tencent callback key is at most 32 letters and digits (PROTOCOL.md §1).
    assert.match(env.TENCENT_LIVE_CALLBACK_KEYS ?? '', /^\$\{[A-Z_]+:-[A-Za-z0-9]{1,32}\}$/);
    assert.ok(service('exporter').ports?.includes('8080:8080'), 'callback port 8080 published');
    assert.ok(
      !(service('exporter').ports ?? []).some((port) => port.includes('9877')),
      'the metrics port stays private',
    );
    const data = mountsOf('exporter').find((mount) => mount.target === '/app/data');
    assert.ok(data && !data.bind, '/app/data is a named volume');
    assert.ok(
      env.TENCENT_LIVE_STORE?.startsWith('sqlite:/app/data/'),
      'the SQLite file lives on that volume',
    );
  });

  it('sends demo traffic with the exporter key to the exporter callback URL, with the traffic CLI', () => {
    const traffic = service('traffic');
    const args = [...argv(traffic.entrypoint), ...argv(traffic.command)];
    assert.deepEqual(args.slice(0, 2), ['node', 'dist/src/cli/traffic.js']);
    assert.equal(args[args.indexOf('--url') + 1], 'http://exporter:8080/callback');
    assert.equal(args[args.indexOf('--key') + 1], environment('exporter').TENCENT_LIVE_CALLBACK_KEYS);
    // dist/ is built inside the image from src/ (Dockerfile): the CLI's source must exist.
    assert.ok(
      existsSync(join(ROOT, 'src/cli/traffic.ts')),
      'src/cli/traffic.ts (built to dist/src/cli/traffic.js)',
    );
    assert.deepEqual(traffic.build, service('exporter').build, 'traffic runs the exporter image');
  });

  it('mounts the Prometheus and Alertmanager configurations where their commands read them', () => {
    const prometheusArgs = argv(service('prometheus').command);
    assert.equal(hostPath('prometheus', flag(prometheusArgs, '--config.file') ?? ''), PROMETHEUS_CONFIG);
    const alertmanagerArgs = argv(service('alertmanager').command);
    assert.equal(
      hostPath('alertmanager', flag(alertmanagerArgs, '--config.file') ?? ''),
      'alerts/alertmanager.example.yml',
    );
  });

  it('provisions Grafana with dashboards from a mounted directory and a data source on the compose Prometheus', () => {
    for (const dir of ['grafana/provisioning/dashboards', 'grafana/provisioning/datasources']) {
      const target = mountsOf('grafana').find((mount) => mount.source === dir)?.target;
      assert.equal(target, `/etc/grafana/${dir.slice('grafana/'.length)}`, `${dir} mounted for provisioning`);
    }
    const yamlIn = (dir: string) =>
      existsSync(join(ROOT, dir)) ? readdirSync(join(ROOT, dir)).filter((f) => /\.ya?ml$/.test(f)) : [];
    const providerFiles = yamlIn('grafana/provisioning/dashboards');
    assert.ok(providerFiles.length > 0, 'no dashboard provider in grafana/provisioning/dashboards');
    for (const file of providerFiles) {
      const config = parse(readFileSync(join(ROOT, 'grafana/provisioning/dashboards', file), 'utf8')) as {
        providers: { options: { path: string } }[];
      };
      for (const provider of config.providers) {
        const source = hostPath('grafana', provider.options.path);
        assert.ok(source, `${file}: ${provider.options.path} is not mounted into grafana`);
        const dashboards = readdirSync(join(ROOT, source)).filter((f) => f.endsWith('.json'));
        assert.ok(dashboards.length > 0, `${source} holds no dashboard JSON`);
      }
    }
    const datasourceFiles = yamlIn('grafana/provisioning/datasources');
    assert.ok(datasourceFiles.length > 0, 'no data source in grafana/provisioning/datasources');
    const datasources = datasourceFiles.flatMap(
      (file) =>
        (
          parse(readFileSync(join(ROOT, 'grafana/provisioning/datasources', file), 'utf8')) as {
            datasources: { uid: string; url: string; jsonData?: { timeInterval?: string } }[];
          }
        ).datasources,
    );
    const prometheus = datasources.find((ds) => ds.uid === 'prometheus');
    assert.ok(prometheus, 'data source uid "prometheus"');
    assert.equal(prometheus.url, 'http://prometheus:9090');
    if (prometheus.jsonData?.timeInterval !== undefined) {
      assert.equal(prometheus.jsonData.timeInterval, prometheusConfig.global.scrape_interval);
    }
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it(`scrapes job ${JOB} at the exporter's metrics port and alerts through the compose Alertmanager`, () => {
    const job = prometheusConfig.scrape_configs.find((c) => c.job_name === JOB);
    assert.ok(job, `scrape job ${JOB}`);
    const metricsPort = environment('exporter').TENCENT_LIVE_METRICS_LISTEN?.split(':')[1];
    assert.deepEqual(
      job.static_configs.flatMap((c) => c.targets),
      [`exporter:${metricsPort}`],
    );
    const alertmanagers = prometheusConfig.alerting.alertmanagers.flatMap((a) =>
      a.static_configs.flatMap((c) => c.targets),
    );
    assert.deepEqual(alertmanagers, ['alertmanager:9093']);
    for (const target of [...job.static_configs.flatMap((c) => c.targets), ...alertmanagers]) {
      assert.ok(compose.services[target.split(':')[0]!], `${target}: no such compose service`);
    }
  });

  it('loads every rule file in alerts/ through the compose mount', () => {
    const hostFiles = prometheusConfig.rule_files.map((file) => hostPath('prometheus', file));
    assert.ok(
      hostFiles.every((file) => file !== undefined && existsSync(join(ROOT, file))),
      String(hostFiles),
    );
    const ruleFiles = readdirSync(join(ROOT, 'alerts'))
      .filter((f) => f.endsWith('-rules.yml'))
      .map((f) => `alerts/${f}`)
      .sort();
    assert.deepEqual([...hostFiles].sort(), ruleFiles);
  });

  it('passes promtool check config, with the rule files it names', () => {
    // rule_files are container paths: rewrite them to the repository files the compose mounts put there.
    const dir = mkdtempSync(join(tmpdir(), 'tle-prom-'));
    try {
      const config = {
        ...prometheusConfig,
        rule_files: prometheusConfig.rule_files.map((file) =>
          join(ROOT, hostPath('prometheus', file) ?? file),
        ),
      };
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, stringify(config));
      const result = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8', timeout: 60_000 });
      if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
        assert.fail(
          'promtool is not installed or not on PATH. Install it: apt-get install -y --no-install-recommends ' +
            'prometheus (.ci/run does this in CI).',
        );
      }
      const output = `${result.stdout}${result.stderr}`;
      assert.equal(result.status, 0, output);
      assert.match(output, new RegExp(`SUCCESS: ${config.rule_files.length} rule files found`));
      for (const ruleFile of config.rule_files) {
        assert.match(
          output,
          new RegExp(`Checking ${ruleFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+SUCCESS`),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
