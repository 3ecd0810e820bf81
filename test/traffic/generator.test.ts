import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateBodies, TrafficGenerator, type GeneratedCallback } from '../../src/traffic/generator.js';

const KEY = 'generator-test-key';
const START_MS = 1_700_000_000_000;

/** A clock that advances 10 ms per read, so that retries get a visibly different t. */
function steppingClock(stepMs = 10): () => number {
  let now = START_MS;
  return () => (now += stepMs);
}

function withoutSignature(body: string): Record<string, unknown> {
  const { t: _t, sign: _sign, ...rest } = JSON.parse(body) as Record<string, unknown>;
  return rest;
}

function generate(
  count: number,
  seed = 7,
  extra: Partial<ConstructorParameters<typeof TrafficGenerator>[0]> = {},
) {
  return new TrafficGenerator({ key: KEY, seed, streams: 50, now: steppingClock(), ...extra }).take(count);
}

describe('TrafficGenerator', () => {
  it('is deterministic: same seed and clock give the same bodies; another seed differs', () => {
    const a = generate(500).map((c) => c.body);
    const b = generate(500).map((c) => c.body);
    const c = generate(500, 8).map((x) => x.body);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('produces the default mix: ≈70 % exceptions, ≈25 % starts/stops, ≈5 % retries', () => {
    const callbacks = generate(20_000);
    const share = (f: (c: GeneratedCallback) => boolean) => callbacks.filter(f).length / callbacks.length;
    const exceptions = share((c) => !c.retry && c.kind === 'exception');
    const startStops = share((c) => !c.retry && (c.kind === 'start' || c.kind === 'stop'));
    const retries = share((c) => c.retry);
    assert.ok(Math.abs(exceptions - 0.7) < 0.02, `exceptions ${exceptions}`);
    assert.ok(Math.abs(startStops - 0.25) < 0.02, `starts/stops ${startStops}`);
    assert.ok(Math.abs(retries - 0.05) < 0.01, `retries ${retries}`);
  });

  it('honours a custom mix including records and snapshots', () => {
    const callbacks = generate(2000, 3, {
      mix: { exception: 0, startStop: 1, retry: 0, record: 1, snapshot: 2 },
    });
    const count = (kind: string) => callbacks.filter((c) => c.kind === kind).length;
    assert.equal(count('exception'), 0);
    assert.ok(Math.abs(count('snapshot') / 2000 - 0.5) < 0.05);
    assert.ok(Math.abs(count('record') / 2000 - 0.25) < 0.05);
    assert.equal(JSON.parse(callbacks.find((c) => c.kind === 'snapshot')?.body ?? '{}').event_type, 200);
    assert.equal(JSON.parse(callbacks.find((c) => c.kind === 'record')?.body ?? '{}').event_type, 100);
  });

  it('keeps per-stream state coherent: a stop follows its own start with the same sequence', () => {
    const open = new Map<string, { sequence: string; eventTime: number }>();
    const sequences = new Set<string>();
    let stops = 0;
    for (const c of generate(10_000).filter((x) => !x.retry)) {
      const body = JSON.parse(c.body) as Record<string, unknown>;
      if (c.kind === 'start') {
        assert.equal(open.has(c.streamId), false, `${c.streamId} started twice`);
        assert.equal(sequences.has(body.sequence as string), false, 'a new push gets a new sequence');
        sequences.add(body.sequence as string);
        open.set(c.streamId, { sequence: body.sequence as string, eventTime: body.event_time as number });
      } else if (c.kind === 'stop') {
        const start = open.get(c.streamId);
        assert.ok(start, `${c.streamId} stopped without a start`);
        assert.equal(body.sequence, start.sequence);
        assert.equal(body.push_duration, String(((body.event_time as number) - start.eventTime) * 1000));
        open.delete(c.streamId);
        stops++;
      } else if (c.kind === 'exception') {
        assert.equal(body.sequence, open.get(c.streamId)?.sequence, '321 belongs to the live push');
      }
    }
    assert.ok(stops > 500);
  });

  it('draws stop errcodes from both normal and abnormal codes', () => {
    const codes = generate(10_000)
      .filter((c) => c.kind === 'stop' && !c.retry)
      .map((c) => JSON.parse(c.body).errcode as number);
    const abnormal = codes.filter((e) => ![1, 2, 3].includes(e)).length / codes.length;
    assert.ok(abnormal > 0.2 && abnormal < 0.4, `abnormal share ${abnormal}`);
    assert.ok(codes.includes(1) && codes.some((e) => e >= 12 && e <= 17));
  });

  it('retries are byte-identical to their original apart from a fresh t and sign', () => {
    const callbacks = generate(3000);
    const retries = callbacks.filter((c) => c.retry);
    assert.ok(retries.length > 50);
    let resigned = 0;
    for (const retry of retries) {
      const original = callbacks[retry.retryOf as number] as GeneratedCallback;
      assert.equal(original.retry, false);
      assert.equal(original.index, retry.retryOf);
      const a = JSON.parse(original.body) as { t: number; sign: string };
      const b = JSON.parse(retry.body) as { t: number; sign: string };
      assert.ok(b.t >= a.t, 'a retry is re-signed at its own (later) send time');
      assert.equal(
        b.sign,
        createHash('md5')
          .update(KEY + String(b.t))
          .digest('hex'),
      );
      assert.equal(
        retry.body.replace(/,"t":\d+,"sign":"[0-9a-f]{32}"}$/, ''),
        original.body.replace(/,"t":\d+,"sign":"[0-9a-f]{32}"}$/, ''),
      );
      assert.deepEqual(withoutSignature(retry.body), withoutSignature(original.body));
      if (b.t !== a.t && b.sign !== a.sign) resigned++;
    }
    assert.ok(resigned > retries.length / 2, `only ${resigned} of ${retries.length} retries were re-signed`);
  });

  it('only retries repeat an event identity, even when the clock stands still', () => {
    // The identities a receiver de-duplicates on (PROTOCOL.md §1: counting must be idempotent).
    const identity = (b: Record<string, unknown>) => {
      switch (b.event_type) {
        case 321:
          return `321/${b.stream_id}/${b.sequence}/${b.data_time}`;
        case 100:
          return `100/${b.stream_id}/${b.file_id}`;
        case 200:
          return `200/${b.stream_id}/${b.pic_url}/${b.create_time}`;
        default:
          return `${b.event_type}/${b.stream_id}/${b.sequence}`;
      }
    };
    const callbacks = new TrafficGenerator({
      key: KEY,
      streams: 5,
      now: () => START_MS,
      mix: { exception: 5, startStop: 2, retry: 1, record: 1, snapshot: 1 },
    }).take(3000);
    const seen = new Map<string, number>();
    for (const c of callbacks) {
      const id = identity(JSON.parse(c.body) as Record<string, unknown>);
      if (c.retry) assert.equal(seen.get(id), c.retryOf, 'a retry repeats its original');
      else assert.equal(seen.has(id), false, `${id} generated twice`);
      if (!c.retry) seen.set(id, c.index);
    }
  });

  it('signs every body with t = now + 600 s from the injected clock', () => {
    const now = () => START_MS;
    for (const c of new TrafficGenerator({ key: KEY, now }).take(200)) {
      const body = JSON.parse(c.body) as { t: number; sign: string };
      assert.equal(body.t, START_MS / 1000 + 600);
      assert.equal(
        body.sign,
        createHash('md5')
          .update(KEY + String(body.t))
          .digest('hex'),
      );
    }
  });

  it('spreads streams over domains and apps', () => {
    const bodies = generate(3000).map((c) => JSON.parse(c.body) as Record<string, string>);
    const domains = new Set(bodies.map((b) => b.app ?? b.domain));
    const apps = new Set(bodies.map((b) => b.appname ?? b.path));
    const streams = new Set(bodies.map((b) => b.stream_id));
    assert.equal(domains.size, 3);
    assert.equal(apps.size, 2);
    assert.equal(streams.size, 50);
  });

  it('rejects a bad configuration with a message naming the option', () => {
    assert.throws(() => new TrafficGenerator({ streams: 0 }), /streams/);
    assert.throws(() => new TrafficGenerator({ mix: { exception: 0, startStop: 0, retry: 0 } }), /mix/);
  });
});

describe('generateBodies', () => {
  it('returns unsigned JSON strings without a key and signed ones with a key', () => {
    const unsigned = generateBodies({ seed: 1, now: () => START_MS }, 20);
    assert.equal(unsigned.length, 20);
    for (const body of unsigned) assert.equal('sign' in JSON.parse(body), false);
    const signed = generateBodies({ seed: 1, key: KEY, now: () => START_MS, validitySeconds: 3600 }, 20);
    for (const body of signed) assert.equal(JSON.parse(body).t, START_MS / 1000 + 3600);
  });
});
