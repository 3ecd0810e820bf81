import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { StreamSeries, streamLabels, type EvictionReason } from '../../../src/metrics/stream-series.js';
import { streamKey } from '../../../src/state/session.js';
import { EXCEPTION_NAMES } from '../../../src/tencent/codes.js';

const T0 = 1_700_000_000_000;
const GRACE = 300_000;
const IDLE = 3_600_000;

function series(maxTracked = 100, now?: () => number) {
  const evictions: [EvictionReason, number][] = [];
  const streams = new StreamSeries({
    maxTracked,
    graceMs: GRACE,
    idleMs: IDLE,
    onEvict: (reason, count) => evictions.push([reason, count]),
    ...(now ? { now } : {}),
  });
  return { streams, evictions };
}

async function render(streams: StreamSeries): Promise<{ text: string; chunks: string[] }> {
  const chunks: string[] = [];
  for await (const chunk of streams.render()) chunks.push(chunk);
  return { text: chunks.join(''), chunks };
}

/** The sample lines (no comments) of one family. */
async function samples(streams: StreamSeries, family: string): Promise<string[]> {
  const { text } = await render(streams);
  return text.split('\n').filter((line) => line.startsWith(`${family}{`));
}

const up = (streams: StreamSeries) => samples(streams, 'tencent_live_stream_up');
const exceptions = (streams: StreamSeries) => samples(streams, 'tencent_live_push_exceptions_total');

function live(streams: StreamSeries, id: string, now: number) {
  streams.live(streamKey('d.example.com', 'live', id), 'd.example.com', 'live', id, now);
}
function report(streams: StreamSeries, id: string, now: number, counts = [{ index: 6, count: 2 }]) {
  streams.addExceptions(streamKey('d.example.com', 'live', id), 'd.example.com', 'live', id, counts, now);
}
const key = (id: string) => streamKey('d.example.com', 'live', id);
const upLine = (id: string, value: 0 | 1) =>
  `tencent_live_stream_up{domain="d.example.com",app_name="live",stream_id="${id}"} ${value}`;

function promtoolCheckMetrics(text: string) {
  return spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
}

describe('StreamSeries lifetime', () => {
  it('a live stream shows stream_up 1; once ended 0 during the grace period; then it goes (ended)', async () => {
    const { streams, evictions } = series();
    live(streams, 'a', T0);
    assert.deepEqual(await up(streams), [upLine('a', 1)]);
    streams.ended(key('a'), T0 + 1000);
    assert.deepEqual(await up(streams), [upLine('a', 0)]);
    streams.sweep(T0 + 1000 + GRACE - 1);
    assert.equal(streams.size, 1);
    assert.deepEqual(evictions, []);
    streams.sweep(T0 + 1000 + GRACE);
    assert.equal(streams.size, 0);
    assert.deepEqual(await up(streams), []);
    assert.deepEqual(evictions, [['ended', 1]]);
  });

  it('an exception report after the end extends the grace period; a restart in it keeps the series', async () => {
    const { streams, evictions } = series();
    live(streams, 'a', T0);
    live(streams, 'b', T0);
    streams.ended(key('a'), T0 + 1000);
    streams.ended(key('b'), T0 + 1000);
    report(streams, 'a', T0 + 5000);
    live(streams, 'b', T0 + 6000);
    streams.sweep(T0 + 1000 + GRACE);
    assert.deepEqual(evictions, []);
    streams.sweep(T0 + 5000 + GRACE);
    assert.deepEqual(evictions, [['ended', 1]]);
    assert.deepEqual(await up(streams), [upLine('b', 1)]);
  });

  it('a live stream is never swept, however long it stays quiet', async () => {
    const { streams, evictions } = series();
    live(streams, 'a', T0);
    streams.sweep(T0 + 100 * IDLE);
    assert.deepEqual(await up(streams), [upLine('a', 1)]);
    assert.deepEqual(evictions, []);
  });

  it('a stream known only from exception reports goes after the idle time (idle), counted once per sweep', () => {
    const { streams, evictions } = series();
    report(streams, 'a', T0);
    report(streams, 'b', T0);
    report(streams, 'c', T0 + 10);
    streams.sweep(T0 + IDLE - 1);
    assert.equal(streams.size, 3);
    streams.sweep(T0 + IDLE);
    assert.equal(streams.size, 1);
    assert.deepEqual(evictions, [['idle', 2]]);
  });

  it('ended() of an unknown stream does nothing', () => {
    const { streams, evictions } = series();
    streams.ended(key('nobody'), T0);
    streams.sweep(T0 + IDLE + GRACE);
    assert.equal(streams.size, 0);
    assert.deepEqual(evictions, []);
  });
});

describe('StreamSeries cap', () => {
  it('refuses new streams beyond the cap: no series, one overflow per refused update', async () => {
    const { streams, evictions } = series(2);
    assert.equal(streams.limit, 2);
    live(streams, 'a', T0);
    report(streams, 'b', T0);
    live(streams, 'c', T0);
    report(streams, 'c', T0);
    live(streams, 'd', T0);
    assert.deepEqual(evictions, [
      ['overflow', 1],
      ['overflow', 1],
      ['overflow', 1],
    ]);
    assert.equal(streams.size, 2);
    const { text } = await render(streams);
    assert.doesNotMatch(text, /stream_id="[cd]"/);
    // Tracked streams still update.
    live(streams, 'b', T0 + 1);
    report(streams, 'a', T0 + 1);
    assert.equal(evictions.length, 3);
    assert.deepEqual(await up(streams), [upLine('a', 1), upLine('b', 1)]);
  });

  it('takes new streams again once a sweep made room', async () => {
    const { streams, evictions } = series(1);
    live(streams, 'a', T0);
    streams.ended(key('a'), T0);
    streams.sweep(T0 + GRACE);
    live(streams, 'b', T0 + GRACE);
    assert.deepEqual(evictions, [['ended', 1]]);
    assert.deepEqual(await up(streams), [upLine('b', 1)]);
  });
});

describe('StreamSeries rendering', () => {
  it('sums exception counts per kind, folds unknown types into "other", and has no line for zero', async () => {
    const { streams } = series();
    live(streams, 'a', T0);
    report(streams, 'a', T0, [
      { index: 6, count: 2 },
      { index: 7, count: 0 },
      { index: 0, count: 1 },
    ]);
    report(streams, 'a', T0 + 5000, [{ index: 6, count: 3 }]);
    const labels = 'domain="d.example.com",app_name="live",stream_id="a"';
    assert.deepEqual(await exceptions(streams), [
      `tencent_live_push_exceptions_total{${labels},exception="other"} 1`,
      `tencent_live_push_exceptions_total{${labels},exception="${EXCEPTION_NAMES[6]}"} 5`,
    ]);
  });

  it('a stream known only from exceptions has exception series but no stream_up line', async () => {
    const { streams } = series();
    report(streams, 'only-exceptions', T0);
    assert.deepEqual(await up(streams), []);
    assert.equal((await exceptions(streams)).length, 1);
    // Once its start is seen, it has one.
    live(streams, 'only-exceptions', T0 + 1);
    assert.deepEqual(await up(streams), [upLine('only-exceptions', 1)]);
  });

  it('escapes \\, " and newline in label values', async () => {
    assert.equal(
      streamLabels('d"1', 'a\\b', 'x\ny"\\'),
      'domain="d\\"1",app_name="a\\\\b",stream_id="x\\ny\\"\\\\"',
    );
    const { streams } = series();
    streams.live('k', 'd', 'live', 'back\\slash "quoted"\nnewline', T0);
    assert.deepEqual(await up(streams), [
      'tencent_live_stream_up{domain="d",app_name="live",stream_id="back\\\\slash \\"quoted\\"\\nnewline"} 1',
    ]);
  });

  it('renders label sets of every length byte for byte (multi-byte characters, escapes), with their counts', async () => {
    const { streams } = series(1000);
    const alphabet = ['a', 'Z', '9', '-', '"', '\\', '\n', 'é', '直', '播', '😀'];
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const text = (length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      const [domain, app, id] = [text(random(12)), text(random(20)), `${i}${text(random(90))}`];
      const counts = EXCEPTION_NAMES.map((_, index) => ({ index, count: random(4) === 0 ? random(1e6) : 0 }));
      streams.addExceptions(`k${i}`, domain, app, id, counts, T0);
      for (const { index, count } of counts) {
        if (count > 0) {
          expected.push(
            `tencent_live_push_exceptions_total{${streamLabels(domain, app, id)},exception="${EXCEPTION_NAMES[index]}"} ${count}`,
          );
        }
      }
    }
    assert.ok(expected.length > 300);
    assert.deepEqual((await exceptions(streams)).sort(), expected.sort());
  });

  it('renders text that `promtool check metrics` accepts (escaped labels, up 1 and 0, every exception kind)', async () => {
    const { streams } = series();
    streams.live('k1', 'push.example.com', 'live', 'weird\\"\n直播', T0);
    streams.addExceptions(
      'k1',
      'push.example.com',
      'live',
      'weird\\"\n直播',
      EXCEPTION_NAMES.map((_, index) => ({ index, count: index + 1 })),
      T0,
    );
    live(streams, 'ended', T0);
    streams.ended(key('ended'), T0 + 1);
    report(streams, 'exceptions-only', T0);
    const { text } = await render(streams);
    assert.match(text, /^# HELP tencent_live_stream_up /m);
    assert.match(text, /^# TYPE tencent_live_push_exceptions_total counter$/m);
    assert.equal((text.match(/^tencent_live_push_exceptions_total\{/gm) ?? []).length, 17 + 1);
    const result = promtoolCheckMetrics(text);
    assert.equal(result.error, undefined, 'promtool runs');
    assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
  });

  it('promtool check really parses: an unescaped newline in a label fails (guards the check above)', () => {
    const header = '# HELP tencent_live_stream_up h\n# TYPE tencent_live_stream_up gauge\n';
    assert.equal(promtoolCheckMetrics(`${header}tencent_live_stream_up{stream_id="a\\nb"} 1\n`).status, 0);
    assert.notEqual(promtoolCheckMetrics(`${header}tencent_live_stream_up{stream_id="a\nb"} 1\n`).status, 0);
  });

  it('renders in several chunks for more than 4000 streams, every stream exactly once', async () => {
    const { streams } = series(20_000);
    for (let i = 0; i < 9000; i++) live(streams, `s${i}`, T0);
    for (let i = 0; i < 5000; i++) report(streams, `s${i}`, T0);
    const { text, chunks } = await render(streams);
    assert.ok(chunks.length >= 5, `${chunks.length} chunks`);
    for (const chunk of chunks) assert.ok(chunk === '' || chunk.endsWith('\n'), 'chunks end at a line end');
    const ups = text.split('\n').filter((line) => line.startsWith('tencent_live_stream_up{'));
    assert.equal(ups.length, 9000);
    assert.equal(new Set(ups).size, 9000);
    assert.equal(
      text.split('\n').filter((line) => line.startsWith('tencent_live_push_exceptions_total{')).length,
      5000,
    );
    assert.equal((text.match(/^# TYPE /gm) ?? []).length, 2, 'each family header once');
  });

  it('streams whose lines are not adjacent (slots reused after a sweep) each render once, with their value', async () => {
    const { streams } = series(20_000);
    for (let i = 0; i < 3000; i++) live(streams, `s${i}`, T0);
    // Every third stream ends and goes; new streams take their slots, their lines at the arena's end.
    for (let i = 0; i < 3000; i += 3) streams.ended(key(`s${i}`), T0);
    streams.sweep(T0 + GRACE);
    for (let i = 0; i < 1000; i++) live(streams, `n${i}`, T0 + GRACE);
    for (let i = 1; i < 3000; i += 3) streams.ended(key(`s${i}`), T0 + GRACE);
    streams.ended(key('n7'), T0 + GRACE);
    streams.live(key('s1'), 'd.example.com', 'live', 's1', T0 + GRACE);
    const expected = [
      ...Array.from({ length: 3000 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => upLine(`s${i}`, i % 3 === 1 && i !== 1 ? 0 : 1)),
      ...Array.from({ length: 1000 }, (_, i) => upLine(`n${i}`, i === 7 ? 0 : 1)),
    ];
    assert.deepEqual((await up(streams)).sort(), expected.sort());
  });

  it('a render that yields while streams go and the label arena is compacted still writes whole lines', async () => {
    let ms = 0;
    const { streams } = series(20_000, () => (ms += 5));
    for (let i = 0; i < 9000; i++) live(streams, `s${i}`, T0);
    const chunks: string[] = [];
    for await (const chunk of streams.renderBytes()) {
      chunks.push(chunk.toString('utf8'));
      streams.recycle(chunk);
      if (chunks.length === 1) {
        // Between two slices: two thirds of the streams go (the arena is compacted), new ones come.
        for (let i = 0; i < 6000; i++) streams.ended(key(`s${i}`), T0);
        streams.sweep(T0 + GRACE);
        for (let i = 0; i < 500; i++) live(streams, `n${i}`, T0 + GRACE);
      }
    }
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
    const lines = chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    const wellFormed =
      /^tencent_live_stream_up\{domain="d\.example\.com",app_name="live",stream_id="[sn]\d+"\} [01]$/;
    for (const line of lines) assert.match(line, wellFormed);
    assert.equal(
      new Set(lines.map((line) => line.replace(/ [01]$/, ''))).size,
      lines.length,
      'no stream twice',
    );
    for (let i = 6000; i < 9000; i++) assert.ok(lines.includes(upLine(`s${i}`, 1)), `s${i} is there`);
    assert.equal(promtoolCheckMetrics(chunks.join('')).status, 0);
  });
});

describe('StreamSeries render slices', () => {
  /** Renders while counting the event-loop turns that ran meanwhile (a setImmediate chain). */
  async function turnsDuring(streams: StreamSeries): Promise<{ chunks: number; turns: number }> {
    let turns = 0;
    let rendering = true;
    const tick = () => {
      if (!rendering) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    let chunks = 0;
    for await (const chunk of streams.renderBytes()) {
      chunks++;
      streams.recycle(chunk);
    }
    rendering = false;
    return { chunks, turns };
  }

  function fill(streams: StreamSeries, count: number) {
    for (let i = 0; i < count; i++) {
      live(streams, `s${i}`, T0);
      report(streams, `s${i}`, T0);
    }
  }

  it('within its time slice, renders chunk after chunk without giving the event loop a turn', async () => {
    // About 0.4 MB: under the slice's byte bound (512 KiB), so only the (stopped) clock could end the slice.
    const { streams } = series(20_000, () => 0);
    fill(streams, 2000);
    const { chunks, turns } = await turnsDuring(streams);
    assert.ok(chunks >= 3, `${chunks} chunks`);
    assert.equal(
      turns,
      0,
      'callbacks arriving meanwhile wait for the slice, and are then committed together',
    );
  });

  it('yields to the event loop once the slice has run its time', async () => {
    let ms = 0;
    const { streams } = series(20_000, () => (ms += 5));
    fill(streams, 7000);
    const { chunks, turns } = await turnsDuring(streams);
    assert.ok(turns >= chunks - 1, `${turns} turns for ${chunks} chunks`);
  });

  it('yields after its byte bound however fast the clock says it runs', async () => {
    const { streams } = series(100_000, () => 0);
    fill(streams, 40_000);
    const { chunks, turns } = await turnsDuring(streams);
    assert.ok(chunks >= 40, `${chunks} chunks`);
    assert.ok(turns >= 2, `${turns} turns`);
  });
});
