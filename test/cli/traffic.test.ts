import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { main } from '../../src/cli/traffic.js';
import type { CliIo } from '../../src/cli/common.js';

const KEY = 'traffic-cli-key';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/traffic.ts');
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

const received: Record<string, unknown>[] = [];
let rejectEvery = 0;
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    received.push(body);
    const ok =
      body.sign === md5(KEY + String(body.t)) && (rejectEvery === 0 || received.length % rejectEvery !== 0);
    res.writeHead(ok ? 200 : 401).end(ok ? '{"code":0}' : '{"code":401}');
  });
});
let url = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  rejectEvery = 0;
});

async function cli(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, now: Date.now };
  const code = await main(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('tencent-live-traffic', () => {
  it('sends --count signed callbacks of the scenario and prints a summary', async () => {
    const r = await cli(['--url', url, '--key', KEY, '--count', '200', '--rate', '10000', '--streams', '20']);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(received.length, 200);
    for (const body of received) assert.equal(body.sign, md5(KEY + String(body.t)));
    const types = new Set(received.map((b) => b.event_type));
    assert.deepEqual([...types].sort(), [0, 1, 321]);
    assert.ok(new Set(received.map((b) => b.stream_id)).size <= 20);
    assert.match(r.stdout, /^sent 200 callbacks to http:\/\/127\.0\.0\.1:\d+\/callback in /);
    assert.match(r.stdout, /statuses: 200 200/);
    assert.match(r.stdout, /kinds: .*exception \d+/);
    assert.match(r.stdout, /errors: none/);
  });

  it('is reproducible by --seed (same stream/sequence order)', async () => {
    await cli([
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
    ]);
    const first = received.map((b) => `${b.event_type}/${b.stream_id}/${b.sequence}`);
    received.length = 0;
    await cli([
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
    ]);
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
    const cases: [string[], RegExp][] = [
      [['--url', url, '--key', KEY, '--rate', '0'], /--rate must be a positive number/],
      [['--url', url, '--key', KEY, '--streams=-3'], /--streams must be an integer/],
      [['--url', url, '--key', KEY, '--count', '1.5'], /--count must be an integer/],
      [['--url', url, '--key', KEY, '--duration', 'soon'], /--duration must be a positive number/],
      [['--url', url, '--key', KEY, '--fast'], /--fast/],
      [['--url', url], /--key is required/],
      [['--key', KEY], /--url is required/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
    }
    assert.equal(received.length, 0);
  });

  it('runs as a script via tsx', async () => {
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, '--url', url, '--key', KEY, '--count', '5', '--rate', '1000'],
      { cwd: REPO },
    );
    assert.match(r.stdout, /^sent 5 callbacks/);
    assert.equal(received.length, 5);
  });
});
