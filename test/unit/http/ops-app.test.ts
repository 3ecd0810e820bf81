import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it, mock } from 'node:test';
import {
  createOpsApp,
  MAX_CONCURRENT_SCRAPES,
  SCRAPE_DEADLINE_MS,
  type OpsAppOptions,
} from '../../../src/http/ops-app.js';
import type { ScrapeFailure } from '../../../src/metrics/metrics.js';

/** A /metrics of 64 MiB: a scraper that does not read leaves its scrape waiting for the socket. */
const CHUNK = Buffer.alloc(1024 * 1024, 'x');
const CHUNKS = 64;

type ScrapedMetrics = OpsAppOptions['metrics'];

class FakeMetrics implements ScrapedMetrics {
  readonly failed: ScrapeFailure[] = [];
  readonly contentType = 'text/plain; version=0.0.4';
  started = 0;
  private waiting: Array<{ n: number; resolve: () => void }> = [];
  async *renderBytes(): AsyncGenerator<Buffer> {
    this.started++;
    for (const w of this.waiting.filter((w) => this.started >= w.n)) w.resolve();
    for (let i = 0; i < CHUNKS; i++) yield CHUNK;
  }
  recycle(): void {}
  scrapeFailed(reason: ScrapeFailure): void {
    this.failed.push(reason);
  }
  /** Resolves once `n` scrapes have started rendering. */
  untilStarted(n: number): Promise<void> {
    return this.started >= n
      ? Promise.resolve()
      : new Promise((resolve) => this.waiting.push({ n, resolve }));
  }
}

/** GET /metrics on a raw socket that never reads the answer. */
function stuckScraper(port: number): Socket {
  const socket = connect(port, '127.0.0.1', () => {
    socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();
  });
  socket.on('error', () => {});
  return socket;
}

function scrape(port: number): Promise<{ status: number; bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let bytes = 0;
      let body = '';
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (body.length < 200) body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode!, bytes, body }));
    }).on('error', reject);
  });
}

describe('the metrics listener under scrapers that stop reading', () => {
  const metrics = new FakeMetrics();
  let server: Server;
  let port: number;
  const sockets: Socket[] = [];
  before(async () => {
    // The scrape deadline runs on this clock: no test waits for it to pass.
    mock.timers.enable({ apis: ['setTimeout'] });
    server = createServer(createOpsApp({ metrics, ready: () => true }).callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    mock.timers.reset();
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(`serves ${MAX_CONCURRENT_SCRAPES} at once and answers 503 to more, counted`, async () => {
    for (let i = 0; i < MAX_CONCURRENT_SCRAPES; i++) sockets.push(stuckScraper(port));
    await metrics.untilStarted(MAX_CONCURRENT_SCRAPES);
    const refused = await scrape(port);
    assert.equal(refused.status, 503);
    assert.match(refused.body, new RegExp(`more than ${MAX_CONCURRENT_SCRAPES} scrapes at once`));
    assert.deepEqual(metrics.failed, ['too_many']);
    assert.equal(metrics.started, MAX_CONCURRENT_SCRAPES, 'the refused scrape rendered nothing');
  });

  it('cuts the stuck scrapes off at the deadline, and then serves a scraper that reads, in full', async () => {
    mock.timers.tick(SCRAPE_DEADLINE_MS - 1);
    assert.deepEqual(metrics.failed, ['too_many'], 'not before the deadline');
    mock.timers.tick(1);
    assert.deepEqual(metrics.failed, ['too_many', ...Array(MAX_CONCURRENT_SCRAPES).fill('deadline')]);
    // Cut off by the server: each stuck scraper, reading again, finds its answer ended short.
    const received = await Promise.all(
      sockets.map(
        (s) =>
          new Promise<number>((resolve) => {
            let bytes = 0;
            s.on('data', (chunk: Buffer) => (bytes += chunk.length));
            s.once('close', () => resolve(bytes));
            s.resume();
          }),
      ),
    );
    for (const bytes of received) assert.ok(bytes < CHUNK.length * CHUNKS, `${bytes} bytes`);
    const served = await scrape(port);
    assert.equal(served.status, 200);
    assert.equal(served.bytes, CHUNK.length * CHUNKS);
    assert.equal(metrics.failed.length, 1 + MAX_CONCURRENT_SCRAPES, 'a complete scrape is no failure');
  });
});
