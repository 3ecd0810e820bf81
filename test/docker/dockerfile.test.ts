import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/process.js';
import { startService, type TestService } from '../helpers/service.js';

// No Docker engine runs on the test machines: check the Dockerfile's promises statically, and run the
// health-check script it uses against a real listener.
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
const lines = dockerfile.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
const stages = dockerfile.split(/^FROM /m).slice(1);
const final = stages.at(-1) ?? '';

describe('Dockerfile', () => {
  test('is multi-stage and runs as a non-root user', () => {
    assert.ok(stages.length >= 2, 'at least a build and a runtime stage');
    const user = /^USER\s+(\S+)/m.exec(final)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', `final stage USER is ${user}`);
  });

  test('entrypoint is exec form and points at the built main', () => {
    const entry = /^ENTRYPOINT\s+(.+)$/m.exec(final)?.[1];
    assert.ok(entry, 'ENTRYPOINT present');
    const argv = JSON.parse(entry) as string[];
    assert.deepEqual(argv, ['node', 'dist/src/main.js']);
    assert.ok(existsSync(new URL('../../src/main.ts', import.meta.url)));
  });

  test('HEALTHCHECK asks /-/ready through a script that exists in src', () => {
    const health = /^HEALTHCHECK .*CMD\s+(\[.+\])$/m.exec(final)?.[1];
    assert.ok(health, 'HEALTHCHECK in exec form');
    const script = (JSON.parse(health) as string[]).find((arg) => arg.endsWith('.js'))!;
    const source = new URL(`../../${script.replace(/^dist\//, '').replace(/\.js$/, '.ts')}`, import.meta.url);
    assert.match(readFileSync(source, 'utf8'), /\/-\/ready/);
  });

  test('every COPY source from the build context exists', () => {
    for (const line of lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources)
        assert.ok(existsSync(new URL(`../../${source}`, import.meta.url)), source);
    }
  });
});

describe('container health-check script', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(() => svc.close());

  // Asynchronous: the service under test answers from this very process.
  const run = (listen: string) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/healthcheck.ts'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'] ?? '', TENCENT_LIVE_METRICS_LISTEN: listen },
        timeout: 10_000,
        stdio: 'ignore',
      });
      child.once('exit', (code) => resolve(code));
    });

  test('exits 0 when the service is ready, 1 when nothing answers', async () => {
    const port = new URL(svc.metricsUrl).port;
    assert.equal(await run(`0.0.0.0:${port}`), 0);
    // Read as the service reads it: trimmed.
    assert.equal(await run(` 127.0.0.1:${port} `), 0);
    assert.equal(await run('127.0.0.1:1'), 1);
  });
});
