import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { streamKey } from '../../src/state/session.js';
import { startService, T0, type TestService } from '../helpers/service.js';

const STREAMS = 100_000;

/** Event-loop turns, not time: resolves once `value()` stayed the same for `turns` turns in a row. */
async function settled(value: () => number, turns = 300): Promise<number> {
  let last = value();
  for (let same = 0; same < turns;) {
    await new Promise((resolve) => setImmediate(resolve));
    const now = value();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

/** Opens a connection, asks for /metrics and reads nothing: a scraper that stalled. */
function stalledScrape(metricsUrl: string): Promise<Socket> {
  const { hostname, port } = new URL(metricsUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.pause();
      socket.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`, () => resolve(socket));
    });
    socket.on('error', reject);
  });
}

describe('/metrics against a scraper that stops reading', () => {
  let svc: TestService;
  let rendered = 0;
  before(async () => {
    svc = await startService({ TENCENT_LIVE_MAX_TRACKED_STREAMS: String(STREAMS) });
    const { streams } = svc.app.metrics;
    const kinds = [0, 1, 2].map((index) => ({ index, count: 1 }));
    for (let i = 0; i < STREAMS; i++) {
      const id = `stream-${i}`;
      streams.live(streamKey('d.example.com', 'live', id), 'd.example.com', 'live', id, T0);
      streams.addExceptions(streamKey('d.example.com', 'live', id), 'd.example.com', 'live', id, kinds, T0);
    }
    // Counts what the renderer handed to the socket, to see whether it keeps rendering for nobody.
    const render = svc.app.metrics.renderBytes.bind(svc.app.metrics);
    svc.app.metrics.renderBytes = async function* () {
      for await (const chunk of render()) {
        rendered += chunk.length;
        yield chunk;
      }
    };
  });
  after(() => svc.close());

  test('the renderer waits for the socket instead of queueing the whole exposition in memory', async () => {
    const full = Buffer.byteLength(await (await fetch(svc.metricsUrl)).text());
    assert.ok(full > 25e6, `${full} bytes: well beyond what the kernel and the queue may hold`);
    rendered = 0;
    const socket = await stalledScrape(svc.metricsUrl);
    const held = await settled(() => rendered);
    // The kernel takes a few MB (send buffer up to 4 MiB here), the writer queues at most 512 KiB more.
    assert.ok(held > 0 && held < 12e6, `rendered ${held} of ${full} bytes for a scraper that reads nothing`);
    socket.destroy();
  });

  test('a scraper that hangs up mid-scrape leaves the next scrapes whole', async () => {
    const socket = await stalledScrape(svc.metricsUrl);
    await settled(() => rendered);
    socket.destroy();
    const m = await svc.scrape();
    assert.equal(m.family('tencent_live_stream_up').size, STREAMS);
    assert.equal(m.family('tencent_live_push_exceptions_total').size, 3 * STREAMS);
    assert.equal((await fetch(new URL('/-/healthy', svc.metricsUrl))).status, 200);
  });
});
