import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { main } from '../../src/cli/traffic.js';
import { assertUsageErrors, expectedSign, runMain, runScript } from '../helpers/cli.js';
import { startBodyServer, type LoopbackServer } from '../helpers/http.js';
import { ROOT } from '../helpers/process.js';

const KEY = 'traffic-cli-key';
const CLI = join(ROOT, 'src/cli/traffic.ts');

/** Answers 200 to a body signed with KEY, 401 to any other and to every `rejectEvery`-th one; keeps the bodies. */
const received: Record<string, unknown>[] = [];
let rejectEvery = 0;
let server: LoopbackServer | undefined;
let url = '';

before(async () => {
  server = await startBodyServer((text) => {
    const body = JSON.parse(text) as Record<string, unknown>;
    received.push(body);
    const ok =
      body.sign === expectedSign(KEY, body.t) && (rejectEvery === 0 || received.length % rejectEvery !== 0);
    return { status: ok ? 200 : 401, body: ok ? '{"code":0}' : '{"code":401}' };
  });
  url = `${server.url}/callback`;
});
after(() => server?.close());
beforeEach(() => {
  received.length = 0;
  rejectEvery = 0;
});

const cli = (argv: string[], env: Record<string, string> = {}) => runMain(main, argv, env);

describe('tencent-live-traffic', () => {
  it('sends --count signed callbacks of the scenario and prints a summary', async () => {
    const r = await cli(['--url', url, '--key', KEY, '--count', '200', '--rate', '10000', '--streams', '20']);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(received.length, 200);
    for (const body of received) assert.equal(body.sign, expectedSign(KEY, body.t));
    const types = new Set(received.map((b) => b.event_type));
    assert.deepEqual([...types].sort(), [0, 1, 321]);
    assert.ok(new Set(received.map((b) => b.stream_id)).size <= 20);
    assert.match(r.stdout, /^sent 200 callbacks to http:\/\/127\.0\.0\.1:\d+\/callback in /);
    assert.match(r.stdout, /statuses: 200 200/);
    assert.match(r.stdout, /kinds: .*exception \d+/);
    assert.match(r.stdout, /errors: none/);
  });

  it('is reproducible by --seed (same stream/sequence order)', async () => {
    const seeded = [
      '--url',
      url,
      '--key',
      KEY,
      '--count',
      '50',
      '--rate',
      '10000',
      '--concurrency',
      '1',
      '--seed',
      '9',
    ];
    await cli(seeded);
    const first = received.map((b) => `${b.event_type}/${b.stream_id}/${b.sequence}`);
    received.length = 0;
    await cli(seeded);
    assert.deepEqual(
      received.map((b) => `${b.event_type}/${b.stream_id}/${b.sequence}`),
      first,
    );
  });

  it('stops by itself after --duration', async () => {
    const r = await cli(['--url', url, '--duration', '0.3', '--rate', '50'], {
      TENCENT_LIVE_CALLBACK_KEYS: KEY,
    });
    assert.equal(r.code, 0, r.stdout);
    // 50/s for 0.3 s: requests due at 0, 20, … 280 ms.
    assert.ok(received.length >= 12 && received.length <= 15, `received ${received.length}`);
  });

  it('exits 1 when some answers are not 200', async () => {
    rejectEvery = 5;
    const r = await cli(['--url', url, '--key', KEY, '--count', '20', '--rate', '10000']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /statuses: .*401 4/);
  });

  it('explains a bad command line with the flag it concerns and exits 2', async () => {
    await assertUsageErrors(cli, [
      [['--url', url, '--key', KEY, '--rate', '0'], /--rate must be a positive number/],
      [['--url', url, '--key', KEY, '--streams=-3'], /--streams must be an integer/],
      [['--url', url, '--key', KEY, '--count', '1.5'], /--count must be an integer/],
      [['--url', url, '--key', KEY, '--duration', 'soon'], /--duration must be a positive number/],
      [['--url', url, '--key', KEY, '--fast'], /--fast/],
      [['--url', url], /--key is required/],
      [['--key', KEY], /--url is required/],
    ]);
    assert.equal(received.length, 0);
  });

  it('runs as a script via tsx', async () => {
    const r = await runScript(CLI, ['--url', url, '--key', KEY, '--count', '5', '--rate', '1000']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sent 5 callbacks/);
    assert.equal(received.length, 5);
  });
});
