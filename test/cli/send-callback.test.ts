import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { main } from '../../src/cli/send-callback.js';
import type { CliIo } from '../../src/cli/common.js';

const KEY = 'cli-test-key';
const NOW_MS = 1_700_000_000_000;
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(REPO, 'src/cli/send-callback.ts');
const run = promisify(execFile);

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** Answers 200 {"code":0} to a body signed with KEY, 401 otherwise; keeps what it received. */
const received: string[] = [];
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    received.push(text);
    const body = JSON.parse(text) as { t?: number; sign?: string };
    const ok = body.sign !== undefined && body.sign === md5(KEY + String(body.t));
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(ok ? '{"code":0}' : '{"code":401,"reason":"bad_signature","message":"signature does not match"}');
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
});

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, now: () => NOW_MS };
  return { io: value, out, err };
}

async function cli(argv: string[], env: Record<string, string> = {}) {
  const captured = io(env);
  const code = await main(argv, captured.io);
  return { code, stdout: captured.out.join('\n'), stderr: captured.err.join('\n') };
}

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
    assert.equal(body.sign, md5(KEY + String(body.t)));
  });

  it('exits 1 and prints status and body when the receiver does not answer 200', async () => {
    const r = await cli(['--url', url, '--key', 'another-key', '--event', 'stop']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^HTTP 401 \{"code":401,"reason":"bad_signature"/);
  });

  it('exits 1 naming the error when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
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
    assert.equal(body.sign, md5(KEY + String(body.t)));
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
    assert.equal(body.sign, md5(KEY + String(body.t)));
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
    const cases: [string[], RegExp][] = [
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
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
    }
    assert.equal(received.length, 0);
  });

  it('runs as a script via tsx, with exit codes 0 and 1', async () => {
    const ok = await run(
      process.execPath,
      ['--import', 'tsx', CLI, '--url', url, '--key', KEY, '--event', 'start'],
      {
        cwd: REPO,
      },
    );
    assert.equal(ok.stdout.trim(), 'HTTP 200 {"code":0}');
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', CLI, '--url', url, '--key', 'bad', '--event', 'start'], {
        cwd: REPO,
      }),
      (error: { code?: number; stdout?: string }) => error.code === 1 && /HTTP 401/.test(error.stdout ?? ''),
    );
  });

  it('does not run when imported by another script', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'send-callback-'));
    try {
      const script = join(dir, 'importer.ts');
      writeFileSync(script, `import ${JSON.stringify(CLI)};\nconsole.log('imported');\n`);
      const r = await run(
        process.execPath,
        ['--import', 'tsx', script, '--print', '--key', KEY, '--event', 'start'],
        {
          cwd: REPO,
        },
      );
      assert.equal(r.stdout, 'imported\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
