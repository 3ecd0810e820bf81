import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { main } from '../../src/cli/send-callback.js';
import { assertUsageErrors, expectedSign, runMain, runScript } from '../helpers/cli.js';
import { startBodyServer, type LoopbackServer } from '../helpers/http.js';
import { ROOT } from '../helpers/process.js';
import { freePort } from '../helpers/prometheus.js';

const KEY = 'cli-test-key';
const NOW_MS = 1_700_000_000_000;
const CLI = join(ROOT, 'src/cli/send-callback.ts');

/** Answers 200 {"code":0} to a body signed with KEY, 401 otherwise; keeps what it received. */
const received: string[] = [];
let server: LoopbackServer | undefined;
let url = '';

before(async () => {
  server = await startBodyServer((text) => {
    received.push(text);
    const body = JSON.parse(text) as { t?: number; sign?: string };
    const ok = body.sign !== undefined && body.sign === expectedSign(KEY, body.t);
    return {
      status: ok ? 200 : 401,
      headers: { 'content-type': 'application/json' },
      body: ok ? '{"code":0}' : '{"code":401,"reason":"bad_signature","message":"signature does not match"}',
    };
  });
  url = `${server.url}/callback`;
});
after(() => server?.close());
beforeEach(() => {
  received.length = 0;
});

const cli = (argv: string[], env: Record<string, string> = {}) => runMain(main, argv, env, () => NOW_MS);

describe('tencent-live-send', () => {
  it('sends one correctly signed callback, prints the answer and exits 0 on 200', async () => {
    const r = await cli([
      '--url',
      url,
      '--key',
      KEY,
      '--event',
      'start',
      '--stream',
      's1',
      '--domain',
      'd.example.com',
    ]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'HTTP 200 {"code":0}');
    assert.equal(received.length, 1);
    const body = JSON.parse(received[0] as string) as Record<string, unknown>;
    assert.equal(body.event_type, 1);
    assert.equal(body.stream_id, 's1');
    assert.equal(body.app, 'd.example.com');
    assert.equal(body.appname, 'live');
    assert.equal(body.event_time, NOW_MS / 1000);
    assert.equal(body.t, NOW_MS / 1000 + 600);
    assert.equal(body.sign, expectedSign(KEY, body.t));
  });

  it('exits 1 and prints status and body when the receiver does not answer 200', async () => {
    const r = await cli(['--url', url, '--key', 'another-key', '--event', 'stop']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^HTTP 401 \{"code":401,"reason":"bad_signature"/);
  });

  it('exits 1 naming the error when nothing listens', async () => {
    const port = await freePort();
    const r = await cli(['--url', `http://127.0.0.1:${port}/callback`, '--key', KEY, '--event', 'start']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ECONNREFUSED/);
  });

  it('takes the key from TENCENT_LIVE_CALLBACK_KEYS (first key) when --key is absent', async () => {
    const r = await cli(['--url', url, '--event', 'exception'], {
      TENCENT_LIVE_CALLBACK_KEYS: ` ${KEY} ,old-key`,
    });
    assert.equal(r.code, 0);
    const body = JSON.parse(received[0] as string) as Record<string, unknown>;
    assert.equal(body.event_type, 321);
    assert.equal(body.sign, expectedSign(KEY, body.t));
  });

  it('--print prints the signed JSON and sends nothing', async () => {
    const r = await cli([
      '--print',
      '--key',
      KEY,
      '--event',
      'stop',
      '--errcode',
      '14',
      '--sequence',
      '1234567890123456789',
    ]);
    assert.equal(r.code, 0);
    assert.equal(received.length, 0);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(body.event_type, 0);
    assert.equal(body.errcode, 14);
    assert.equal(body.sequence, '1234567890123456789');
    assert.equal(typeof body.push_duration, 'string');
    assert.equal(body.sign, expectedSign(KEY, body.t));
  });

  it('builds each event kind; start and stop of one stream share a sequence by default', async () => {
    const events = { start: 1, stop: 0, exception: 321, record: 100, snapshot: 200 };
    const sequences: unknown[] = [];
    for (const [event, type] of Object.entries(events)) {
      const r = await cli(['--print', '--key', KEY, '--event', event, '--stream', 'same']);
      const body = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(body.event_type, type);
      if (type === 0 || type === 1) sequences.push(body.sequence);
    }
    assert.equal(sequences[0], sequences[1]);
  });

  it('--exceptions sets the 321 abnormal events', async () => {
    const r = await cli(['--print', '--key', KEY, '--event', 'exception', '--exceptions', '16:3,1:1']);
    const body = JSON.parse(r.stdout) as { abnormal_event: { type: number; count: number }[] };
    assert.deepEqual(
      body.abnormal_event.map((e) => [e.type, e.count]),
      [
        [16, 3],
        [1, 1],
      ],
    );
  });

  it('--unsigned sends no t and sign', async () => {
    const r = await cli(['--print', '--unsigned', '--event', 'start']);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal('t' in body, false);
    assert.equal('sign' in body, false);
  });

  it('explains a bad command line with the flag it concerns and exits 2', async () => {
    await assertUsageErrors(cli, [
      [['--url', url, '--key', KEY, '--event', 'start', '--bogus'], /--bogus/],
      [['--url', url, '--key', KEY], /--event is required/],
      [['--url', url, '--key', KEY, '--event', 'pause'], /--event must be one of .*"pause"/],
      [['--url', url, '--key', KEY, '--event', 'stop', '--errcode', 'x'], /--errcode must be an integer/],
      [
        ['--url', url, '--key', KEY, '--event', 'start', '--errcode', '3'],
        /--errcode applies only to --event stop/,
      ],
      [['--url', url, '--key', KEY, '--event', 'start', '--sequence', '12ab'], /--sequence/],
      [['--url', url, '--key', KEY, '--event', 'exception', '--exceptions', '6'], /--exceptions/],
      [['--url', 'not a url', '--key', KEY, '--event', 'start'], /--url must be/],
      [['--key', KEY, '--event', 'start'], /--url is required/],
      [['--url', url, '--event', 'start'], /--key is required/],
      [['--url', url, '--key', KEY, '--event'], /--event/],
    ]);
    assert.equal(received.length, 0);
  });

  it('runs as a script via tsx, with exit codes 0 and 1', async () => {
    const ok = await runScript(CLI, ['--url', url, '--key', KEY, '--event', 'start']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'HTTP 200 {"code":0}');
    const bad = await runScript(CLI, ['--url', url, '--key', 'bad', '--event', 'start']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /HTTP 401/);
  });

  it('does not run when imported by another script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'send-callback-'));
    try {
      const script = join(dir, 'importer.ts');
      writeFileSync(script, `import ${JSON.stringify(CLI)};\nconsole.log('imported');\n`);
      const r = await runScript(script, ['--print', '--key', KEY, '--event', 'start']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'imported\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
