import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { V8_FLAGS } from '../../src/runtime.js';
import { pushException, pushStart } from '../../src/traffic/payloads.js';
import { signPayload } from '../../src/verify/sign.js';
import { Scrape } from '../helpers/metrics-text.js';
import { startProcess, type RunningService } from '../helpers/process.js';

const KEY = 'process-test-key';
const dir = mkdtempSync(join(tmpdir(), 'tle-process-'));
const env = {
  TENCENT_LIVE_CALLBACK_KEYS: KEY,
  TENCENT_LIVE_STORE: `sqlite:${join(dir, 'state.db')}`,
  TENCENT_LIVE_LOG_LEVEL: 'info',
};
const running: RunningService[] = [];
/** Process groups (`npm start` and what it started), stopped at the end if anything in them still runs. */
const groups: number[] = [];

after(() => {
  for (const { child, pid } of running)
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function post(service: RunningService, payload: object): Promise<number> {
  const body = JSON.stringify(signPayload(payload, KEY, Date.now() / 1000));
  return (await fetch(service.callbackUrl, { method: 'POST', body })).status;
}

const scrape = async (service: RunningService) => new Scrape(await (await fetch(service.metricsUrl)).text());
const now = Math.floor(Date.now() / 1000);
const starts = ['one', 'two'].map((streamId, i) =>
  pushStart({
    domain: 'd.example.com',
    appName: 'live',
    streamId,
    sequence: `70000000000000000${i}`,
    eventTime: now,
  }),
);
const active = { domain: 'd.example.com', app_name: 'live' };

test('sessions and de-duplication keys survive kill -9', async () => {
  const first = await startProcess(env);
  running.push(first);
  // main applies the V8 settings before anything else (src/runtime.ts; their effect: test/unit/runtime.test.ts).
  const listening = first.logs.find((entry) => entry['msg'] === 'listening');
  assert.deepEqual(listening?.['v8Flags'], V8_FLAGS);
  for (const start of starts) assert.equal(await post(first, start), 200);
  assert.equal(
    await post(first, pushException({ domain: 'd.example.com', appName: 'live', streamId: 'one' })),
    200,
  );
  assert.equal((await scrape(first)).get('tencent_live_streams_active', active), 2);

  process.kill(first.pid, 'SIGKILL');
  assert.deepEqual(await first.exited, { code: null, signal: 'SIGKILL' });

  const second = await startProcess(env);
  running.push(second);
  let m = await scrape(second);
  assert.equal(m.get('tencent_live_streams_active', active), 2);
  assert.equal(m.get('tencent_live_stream_up', { ...active, stream_id: 'one' }), 1);
  assert.equal(m.get('tencent_live_stream_up', { ...active, stream_id: 'two' }), 1);
  assert.equal((await fetch(new URL('/-/ready', second.metricsUrl))).status, 200);

  // Tencent retries the first start (re-signed): still a duplicate after the crash.
  assert.equal(await post(second, starts[0]!), 200);
  m = await scrape(second);
  assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'duplicate' }), 1);
  assert.equal(m.get('tencent_live_stream_starts_total', active), undefined);
  assert.equal(m.get('tencent_live_state_store_up', { store: 'sqlite' }), 1);

  // SIGTERM: drains, closes the store, exits 0.
  process.kill(second.pid, 'SIGTERM');
  assert.deepEqual(await second.exited, { code: 0, signal: null });
  assert.ok(second.logs.some((entry) => entry['msg'] === 'stopped'));
  const text = JSON.stringify([...first.logs, ...second.logs]);
  assert.ok(!text.includes(KEY), 'the key never reaches a log line');
});

/**
 * Sends 300 starts of distinct streams at once to a service of its own and sends `signal` to it as soon as the
 * first is answered, while the rest are still in flight. Returns each start's status (0: refused or cut off, as
 * Tencent would retry), the process's exit, and a second process on the same store.
 */
async function burstThenSignal(name: string, signal: NodeJS.Signals) {
  const burstEnv = { ...env, TENCENT_LIVE_STORE: `sqlite:${join(dir, `${name}.db`)}` };
  const service = await startProcess(burstEnv);
  running.push(service);
  const streamIds = Array.from({ length: 300 }, (_, i) => `b${i}`);
  let signalled = false;
  const statuses = await Promise.all(
    streamIds.map((streamId, i) =>
      post(
        service,
        pushStart({
          domain: 'burst.example.com',
          appName: 'live',
          streamId,
          sequence: `${i + 1}`,
          eventTime: now,
        }),
      )
        .then((status) => {
          if (!signalled) {
            signalled = true;
            process.kill(service.pid, signal);
          }
          return status;
        })
        .catch(() => 0),
    ),
  );
  const exited = await service.exited;
  assert.ok(
    statuses.every((status) => status === 200 || status === 0),
    `only 200 or refused: ${statuses}`,
  );
  const again = await startProcess(burstEnv);
  running.push(again);
  const m = await scrape(again);
  process.kill(again.pid, 'SIGTERM');
  await again.exited;
  const accepted = streamIds.filter((_, i) => statuses[i] === 200);
  assert.ok(accepted.length >= 1, 'some callbacks were answered');
  return { exited, accepted, m, burstLabels: { domain: 'burst.example.com', app_name: 'live' } };
}

test('SIGTERM during a burst: every callback answered 200 is stored, and the process exits 0', async () => {
  const { exited, accepted, m, burstLabels } = await burstThenSignal('burst', 'SIGTERM');
  assert.deepEqual(exited, { code: 0, signal: null });
  assert.equal(m.get('tencent_live_streams_active', burstLabels), accepted.length);
});

test('kill -9 during a burst: every callback answered 200 was committed before its answer', async () => {
  const { exited, accepted, m, burstLabels } = await burstThenSignal('killed', 'SIGKILL');
  assert.deepEqual(exited, { code: null, signal: 'SIGKILL' });
  // A start may have been committed and its answer lost with the process (Tencent retries it: a duplicate).
  // The other way round, a 200 for a start that was not stored, would be an accepted callback lost.
  for (const streamId of accepted) {
    assert.equal(m.get('tencent_live_stream_up', { ...burstLabels, stream_id: streamId }), 1, streamId);
  }
  assert.ok((m.get('tencent_live_streams_active', burstLabels) ?? 0) >= accepted.length);
});

test('`npm start` hands SIGTERM to the service, which shuts down gracefully', async () => {
  const service = await startProcess(
    { ...env, TENCENT_LIVE_STORE: `sqlite:${join(dir, 'npm.db')}`, HOME: process.env['HOME'] ?? dir },
    30_000,
    'npm start',
  );
  running.push(service);
  groups.push(service.pid);
  // npm's child: the service itself (npm runs the script through a shell, which `exec` replaces).
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === service.pid;
      } catch {
        return false; // gone meanwhile
      }
    });
  assert.equal(children.length, 1, `npm's children: ${children.join(' ')}`);
  const node = Number(children[0]);
  assert.match(readFileSync(`/proc/${node}/cmdline`, 'utf8'), /src\/main\.ts/);
  process.kill(service.pid, 'SIGTERM');
  await service.exited;
  // The service logged its graceful stop and is gone; a shell in between used to leave it running, orphaned.
  assert.ok(
    service.logs.some((entry) => entry['msg'] === 'stopped'),
    JSON.stringify(service.logs.map((entry) => entry['msg'])),
  );
  assert.throws(() => process.kill(node, 0), /ESRCH/);
});

test('a state file deleted under the running service: 503 and store down, never a 200 for lost state', async () => {
  const stateDir = join(dir, 'deleted');
  const service = await startProcess({ ...env, TENCENT_LIVE_STORE: `sqlite:${join(stateDir, 'state.db')}` });
  running.push(service);
  assert.equal(await post(service, starts[0]!), 200);
  rmSync(stateDir, { recursive: true, force: true });
  // The store notices within about a second; until then a callback may still be answered 200.
  let status = 200;
  for (let i = 0; i < 50 && status === 200; i++) {
    status = await post(service, pushStart({ domain: 'd.example.com', streamId: `x${i}`, eventTime: now }));
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(status, 503);
  const m = await scrape(service);
  assert.equal(m.get('tencent_live_state_store_up', { store: 'sqlite' }), 0);
  const ready = await fetch(service.metricsUrl.replace(/\/metrics$/, '/-/ready'));
  assert.equal(ready.status, 503);
  process.kill(service.pid, 'SIGTERM');
  await service.exited;
});

test('with TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS, SIGTERM first makes /-/ready fail while callbacks are still taken', async () => {
  const service = await startProcess({
    ...env,
    TENCENT_LIVE_STORE: `sqlite:${join(dir, 'delay.db')}`,
    TENCENT_LIVE_SHUTDOWN_DELAY_SECONDS: '3',
  });
  running.push(service);
  const readyUrl = service.metricsUrl.replace(/\/metrics$/, '/-/ready');
  assert.equal((await fetch(readyUrl)).status, 200);
  process.kill(service.pid, 'SIGTERM');
  // Until the signal is handled /-/ready may still say 200; then 503 for the delay.
  let ready = 200;
  for (let i = 0; i < 100 && ready === 200; i++) ready = (await fetch(readyUrl)).status;
  assert.equal(ready, 503);
  assert.equal(await post(service, starts[1]!), 200, 'callbacks are still taken during the delay');
  assert.deepEqual(await service.exited, { code: 0, signal: null });
  assert.ok(service.logs.some((entry) => entry['msg'] === 'shutting down: not ready, still serving'));
});

test('start-up refuses a bad configuration, naming the variable', async () => {
  await assert.rejects(
    startProcess({ ...env, TENCENT_LIVE_CALLBACK_KEYS: '' }),
    /TENCENT_LIVE_CALLBACK_KEYS/,
  );
  await assert.rejects(
    startProcess({ ...env, TENCENT_LIVE_DEDUP_TTL_SECONDS: 'soon' }),
    /TENCENT_LIVE_DEDUP_TTL_SECONDS/,
  );
  await assert.rejects(
    startProcess({ ...env, TENCENT_LIVE_CALBACK_KEYS: KEY }),
    /TENCENT_LIVE_CALBACK_KEYS: unknown variable/,
  );
});
