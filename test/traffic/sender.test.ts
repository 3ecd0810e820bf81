import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { generateBodies } from '../../src/traffic/generator.js';
import { postBody, sendBodies } from '../../src/traffic/sender.js';

const KEY = 'sender-test-key';
const NOW_MS = Date.now();

function signedWith(key: string, text: string): boolean {
  try {
    const body = JSON.parse(text) as { t?: number; sign?: string };
    return (
      body.sign ===
      createHash('md5')
        .update(key + String(body.t))
        .digest('hex')
    );
  } catch {
    return false;
  }
}

/** A receiver that checks md5(key + t) like the exporter does, and can hold answers to observe concurrency. */
class Receiver {
  readonly bodies: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** When set, answers are held until this many requests are waiting, then all are released. */
  barrier = 0;
  private held: (() => void)[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      this.bodies.push(text);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const answer = () => {
        this.inFlight--;
        const ok = signedWith(KEY, text);
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(ok ? '{"code":0}' : '{"code":401,"reason":"bad_signature"}');
      };
      if (this.barrier === 0) return answer();
      this.held.push(answer);
      if (this.held.length >= this.barrier) for (const release of this.held.splice(0)) release();
    });
  });

  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }

  reset(): void {
    this.bodies.length = 0;
    this.maxInFlight = 0;
    this.barrier = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const receiver = new Receiver();
before(() => receiver.start());
after(() => receiver.stop());
beforeEach(() => receiver.reset());

describe('postBody', () => {
  it('POSTs the body as JSON and returns the status and answer text', async () => {
    const [body] = generateBodies({ key: KEY, now: () => NOW_MS }, 1);
    const answer = await postBody(receiver.url, body as string);
    assert.deepEqual(answer, { status: 200, body: '{"code":0}' });
    assert.deepEqual(receiver.bodies, [body]);
  });

  it('rejects with the network error code when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(postBody(`http://127.0.0.1:${port}/callback`, '{}'), { code: 'ECONNREFUSED' });
  });
});

describe('sendBodies', () => {
  it('sends every body once, correctly signed, and counts the statuses', async () => {
    const bodies = generateBodies({ key: KEY, seed: 3, now: () => NOW_MS }, 50);
    const summary = await sendBodies({ url: receiver.url, bodies, concurrency: 5 });
    assert.equal(summary.sent, 50);
    assert.deepEqual(summary.statuses, { 200: 50 });
    assert.deepEqual(summary.errors, {});
    assert.deepEqual([...receiver.bodies].sort(), [...bodies].sort());
    assert.ok(summary.latencyMs.max >= summary.latencyMs.p50);
  });

  it('counts non-200 answers by status', async () => {
    const good = generateBodies({ key: KEY, now: () => NOW_MS }, 6);
    const bad = generateBodies({ key: 'wrong-key', now: () => NOW_MS }, 4);
    const summary = await sendBodies({ url: receiver.url, bodies: [...good, ...bad] });
    assert.deepEqual(summary.statuses, { 200: 6, 401: 4 });
  });

  it('never has more than `concurrency` requests in flight', { timeout: 10_000 }, async () => {
    receiver.barrier = 4;
    const bodies = generateBodies({ key: KEY, now: () => NOW_MS }, 20);
    const summary = await sendBodies({ url: receiver.url, bodies, concurrency: 4 });
    assert.equal(summary.sent, 20);
    assert.equal(receiver.maxInFlight, 4);
  });

  it('takes an abort signal with 50 requests in flight without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const bodies = generateBodies({ key: KEY, now: () => NOW_MS }, 100);
      const signal = new AbortController().signal;
      const summary = await sendBodies({ url: receiver.url, bodies, concurrency: 50, signal });
      assert.equal(summary.sent, 100);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  });

  it('cycles a list up to `count`', async () => {
    const bodies = generateBodies({ key: KEY, now: () => NOW_MS }, 3);
    const summary = await sendBodies({ url: receiver.url, bodies, count: 7, concurrency: 2 });
    assert.equal(summary.sent, 7);
    assert.equal(receiver.bodies.length, 7);
    assert.equal(receiver.bodies.filter((b) => b === bodies[0]).length, 3);
  });

  it('stops when a body source returns undefined', async () => {
    const bodies = generateBodies({ key: KEY, now: () => NOW_MS }, 5);
    const summary = await sendBodies({ url: receiver.url, bodies: (i) => bodies[i], durationMs: 10_000 });
    assert.equal(summary.sent, 5);
  });

  it('paces requests at `rate` and stops by itself after `durationMs`', async () => {
    const bodies = generateBodies({ key: KEY, now: () => NOW_MS }, 10);
    const summary = await sendBodies({
      url: receiver.url,
      bodies,
      rate: 40,
      durationMs: 500,
      concurrency: 8,
    });
    // 40 req/s for 0.5 s: requests due at 0, 25, … 475 ms.
    assert.ok(summary.sent >= 15 && summary.sent <= 20, `sent ${summary.sent}`);
    assert.ok(summary.elapsedMs >= 450, `elapsed ${summary.elapsedMs}`);
    assert.ok(summary.elapsedMs < 2000, `elapsed ${summary.elapsedMs}`);
  });

  it('counts connection errors by code instead of failing', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const summary = await sendBodies({ url: `http://127.0.0.1:${port}/`, bodies: ['{}'], count: 3 });
    assert.equal(summary.sent, 3);
    assert.deepEqual(summary.errors, { ECONNREFUSED: 3 });
    assert.deepEqual(summary.statuses, {});
  });

  it('stops early when the signal is aborted', async () => {
    const controller = new AbortController();
    const summary = await sendBodies({
      url: receiver.url,
      bodies: ['{}'],
      count: 1000,
      rate: 100,
      concurrency: 1,
      signal: controller.signal,
      onResult: ({ index }) => {
        if (index === 2) controller.abort();
      },
    });
    assert.equal(summary.sent, 3);
  });

  it('rejects an unbounded or invalid run with a message naming the option', async () => {
    await assert.rejects(sendBodies({ url: receiver.url, bodies: () => '{}' }), /count or durationMs/);
    await assert.rejects(sendBodies({ url: receiver.url, bodies: ['{}'], concurrency: 0 }), /concurrency/);
    await assert.rejects(sendBodies({ url: receiver.url, bodies: ['{}'], rate: -1 }), /rate/);
    await assert.rejects(sendBodies({ url: receiver.url, bodies: [] }), /bodies/);
  });
});
