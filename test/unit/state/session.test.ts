import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dedupKeyOf, keyNumber, type ApplyContext } from '../../../src/events/kinds.js';
import { pushStart, pushStop } from '../../../src/events/push.js';
import { pushException } from '../../../src/events/push-exception.js';
import {
  hashKey,
  sessionKey,
  SessionRoom,
  streamKey,
  timedKey,
  transition,
  type Session,
} from '../../../src/state/session.js';
import { SqliteStore } from '../../../src/state/sqlite-store.js';
import type { Command } from '../../../src/state/store.js';
import { ValidationFailure } from '../../../src/validate/validate.js';
import { KEY, session, start, stop } from '../../helpers/sessions.js';

describe('stream and session keys', () => {
  it('separate domain, app name and stream id unambiguously', () => {
    assert.notEqual(streamKey('a', 'bc', 'd'), streamKey('ab', 'c', 'd'));
    assert.equal(sessionKey(session('1', 1)), KEY);
  });

  it('hash to 16 bytes, the MD5 of the UTF-8 text', () => {
    assert.equal(hashKey('x').length, 16);
    // Keys already in a store must be found again: the bytes are MD5 of the UTF-8 text, whatever the text.
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat(), (text, ms) => {
        const md5 = createHash('md5').update(text, 'utf8').digest();
        assert.deepEqual(hashKey(text), md5);
        assert.deepEqual(timedKey(ms, text).subarray(8), md5);
      }),
    );
  });

  it('timed keys: the time (ms, big-endian) before the hash, so that keys sort by time whatever the text', () => {
    const key = timedKey(1_700_000_000_123, 'x');
    assert.equal(key.length, 24);
    assert.equal(key.readBigUInt64BE(0), 1_700_000_000_123n);
    assert.deepEqual(key.subarray(8), hashKey('x'));
    assert.deepEqual(timedKey(1_700_000_000_123, 'x'), key, 'a retry finds the same key');
    assert.notDeepEqual(timedKey(1_700_000_000_123, 'y'), key);
    const times = [5, 2 ** 32 + 1, 2 ** 32 - 1, 0, 1_700_000_000_000, Number.MAX_SAFE_INTEGER];
    const sorted = times.map((t, i) => ({ t, key: timedKey(t, `text-${9 - i}`) }));
    sorted.sort((a, b) => Buffer.compare(a.key, b.key));
    assert.deepEqual(
      sorted.map((k) => k.t),
      [...times].sort((a, b) => a - b),
    );
    // Out-of-range times still make a valid key (the text keeps distinct events apart).
    for (const odd of [-1, NaN, Infinity, 2 ** 60]) assert.equal(timedKey(odd, 'x').length, 24);
    assert.equal(timedKey(-1, 'x').readBigUInt64BE(0), 0n);
    assert.equal(timedKey(2 ** 60, 'x').readBigUInt64BE(0), BigInt(Number.MAX_SAFE_INTEGER));
  });

  it('numbers in key text read exactly as a template string writes them', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.integer(),
          fc.maxSafeInteger(),
          fc.constantFrom(-0, 1e21, 1e21 - 65536, 2 ** 70),
        ),
        (n) => assert.equal(keyNumber(n), `${n}`),
      ),
      { numRuns: 2000 },
    );
  });

  it("a kind's key is timed when its identity holds a time (321 data_time, a start's event_time)", () => {
    const report = pushException.validate({
      event_type: 321,
      domain: 'push.example.com',
      path: 'live',
      stream_id: 'room_1',
      sequence: '7',
      data_time: 1_700_000_000_456,
      abnormal_event: [{ type: 6, count: 1 }],
    });
    assert.ok(!(report instanceof ValidationFailure), 'a valid report');
    // The text of keys already in a store: a retry after an upgrade must find its key again.
    assert.equal(
      pushException.dedupKey(report),
      '321\u0000push.example.com\u0000live\u0000room_1\u00007\u00001700000000456',
    );
    const key = dedupKeyOf(pushException, report);
    assert.equal(key.readBigUInt64BE(0), 1_700_000_000_456n);
    assert.deepEqual(key.subarray(8), hashKey(pushException.dedupKey(report)));
    const push = (event_type: 0 | 1, sequence: string, event_time: number) => {
      const kind = event_type === 1 ? pushStart : pushStop;
      const fields = { app: 'push.example.com', appname: 'live', stream_id: 'room_1', errcode: 0 };
      const event = kind.validate({ event_type, ...fields, sequence, event_time });
      assert.ok(!(event instanceof ValidationFailure), 'a valid push event');
      const context = { nowMs: 0, liveSession: () => undefined } as unknown as ApplyContext;
      return { key: dedupKeyOf(kind, event), command: kind.command(event, context) };
    };
    const started = push(1, '7', 1_700_000_000);
    assert.equal(started.key.readBigUInt64BE(0), 1_700_000_000_000n);
    // A disconnect's key is ordered by its time too.
    const stopped = push(0, '7', 1_700_000_600);
    assert.equal(stopped.key.readBigUInt64BE(0), 1_700_000_600_000n);
    // Its record of an ended push is a plain hash of stream and sequence (the bytes of the key it claimed in
    // earlier versions), and the start of the same push knows it.
    const endKey = hashKey('0\u0000push.example.com\u0000live\u0000room_1\u00007');
    assert.equal(started.command?.op, 'start');
    assert.equal(stopped.command?.op, 'stop');
    assert.deepEqual(started.command?.op === 'start' && started.command.endKey, endKey);
    assert.deepEqual(stopped.command?.op === 'stop' && stopped.command.endKey, endKey);
    const later = push(0, '7', 1_700_000_900).command;
    assert.deepEqual(later?.op === 'stop' && later.endKey, endKey, 'whenever the disconnect happened');
    const other = push(1, '8', 1_700_000_000).command;
    assert.notDeepEqual(other?.op === 'start' && other.endKey, endKey, 'another push');
  });
});

describe('transition: start', () => {
  it('opens a session when there is none', () => {
    const next = session('2', 200);
    assert.deepEqual(transition(undefined, start(next), false), {
      result: { op: 'start', result: 'opened', session: next },
      put: next,
    });
  });

  it('opens nothing when its sequence already ended (the disconnect overtook the start), live or not', () => {
    const next = session('2', 200);
    for (const current of [undefined, session('1', 100), session('2', 200)]) {
      const t = transition(current, start(next), true);
      assert.deepEqual(t, { result: { op: 'start', result: 'already_ended', session: next } });
    }
  });

  it('refreshes a retry of the live start: keeps startedAt, lastSeenAt never goes back', () => {
    const current = session('1', 100, 5000);
    const later = transition(current, start(session('1', 999, 7000)), false);
    assert.deepEqual(later.result, { op: 'start', result: 'refreshed', session: session('1', 100, 7000) });
    assert.deepEqual(later.put, session('1', 100, 7000));
    const earlier = transition(current, start(session('1', 100, 3000)), false);
    assert.deepEqual(earlier.put, session('1', 100, 5000));
  });

  it('replaces a live session of another sequence with a newer or equally old start', () => {
    const current = session('1', 100);
    for (const startedAt of [101, 100]) {
      const next = session('2', startedAt);
      assert.deepEqual(transition(current, start(next), false), {
        result: { op: 'start', result: 'replaced', session: next },
        put: next,
      });
    }
  });

  it('ignores an older start of another sequence (a late start): stale, nothing written', () => {
    const next = session('0', 99);
    assert.deepEqual(transition(session('1', 100), start(next), false), {
      result: { op: 'start', result: 'stale', session: next },
    });
  });
});

describe('transition: the session cap', () => {
  it('when full, refuses only a start that would open a session', () => {
    const next = session('2', 200);
    assert.deepEqual(transition(undefined, start(next), false, true), {
      result: { op: 'start', result: 'refused', session: next },
    });
    assert.equal(transition(session('1', 100), start(next), false, true).result.result, 'replaced');
    assert.equal(transition(session('2', 200), start(next), false, true).result.result, 'refreshed');
  });

  it('SessionRoom counts what each transition opens and closes, in order', () => {
    const room = new SessionRoom(1, 1);
    const next = start(session('2', 200));
    assert.equal(room.transition(undefined, next, false).result.result, 'refused');
    assert.equal(room.transition(session('1', 100), stop('1'), false).result.result, 'closed');
    assert.equal(room.transition(undefined, next, false).result.result, 'opened');
    assert.equal(room.transition(undefined, next, false).result.result, 'refused');
  });
});

describe('transition: stop', () => {
  it('with no session changes nothing (no_session)', () => {
    assert.deepEqual(transition(undefined, stop('1'), false), {
      result: { op: 'stop', result: 'no_session' },
    });
  });

  it('of another sequence cannot end the live session (stale_sequence)', () => {
    assert.deepEqual(transition(session('2', 200), stop('1'), false), {
      result: { op: 'stop', result: 'stale_sequence' },
    });
  });

  it('of the live sequence ends it and removes it', () => {
    const current = session('2', 200);
    assert.deepEqual(transition(current, stop('2'), false), {
      result: { op: 'stop', result: 'closed', ended: current },
      remove: KEY,
    });
  });
});

describe('transition: touch (exception report)', () => {
  it('refreshes lastSeenAt of a live session, never backwards', () => {
    const current = session('1', 100, 5000);
    const t = transition(current, { op: 'touch', key: KEY, at: 9000 }, false);
    assert.deepEqual(t, {
      result: { op: 'touch', result: 'touched', session: session('1', 100, 9000) },
      put: session('1', 100, 9000),
    });
    assert.deepEqual(transition(current, { op: 'touch', key: KEY, at: 1 }, false).put, current);
  });

  it('without a session changes nothing', () => {
    assert.deepEqual(transition(undefined, { op: 'touch', key: KEY, at: 1 }, false), {
      result: { op: 'touch', result: 'no_session' },
    });
  });
});

/** One push of the stream: its start and stop are each delivered `starts` / `stops` times (0 = lost). */
interface Push {
  readonly sequence: string;
  readonly startedAt: number;
  readonly starts: number;
  readonly stops: number;
}
interface Delivery {
  readonly push: number;
  readonly op: 'start' | 'stop';
}

const NOW_MS = 1_700_000_000_000;
const TTL_MS = 1_800_000;
/** push / push_stop never read metrics or the mirror when deciding their command. */
const context = { nowMs: NOW_MS, liveSession: () => undefined } as unknown as ApplyContext;

/** The command the receiver builds for a delivery: the real handlers' de-duplication key and session change. */
function commandFor(push: Push, op: 'start' | 'stop'): Command {
  const kind = op === 'start' ? pushStart : pushStop;
  const event = kind.validate({
    event_type: op === 'start' ? 1 : 0,
    app: 'push.example.com',
    appname: 'live',
    stream_id: 'room_1',
    sequence: push.sequence,
    event_time: push.startedAt + (op === 'stop' ? 60 : 0),
    errcode: op === 'stop' ? 1 : 0,
  });
  return { dedupKey: dedupKeyOf(kind, event), session: kind.command(event, context) };
}

const scenario = fc
  .array(
    fc.record({
      startedAt: fc.integer({ min: 1_700_000_000, max: 1_700_000_006 }),
      starts: fc.integer({ min: 0, max: 3 }),
      stops: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .chain((specs) => {
    const pushes: Push[] = specs.map((spec, i) => ({ ...spec, sequence: `66744681188066264${90 + i}` }));
    const deliveries: Delivery[] = pushes.flatMap((p, push) => [
      ...Array.from({ length: p.starts }, (): Delivery => ({ push, op: 'start' })),
      ...Array.from({ length: p.stops }, (): Delivery => ({ push, op: 'stop' })),
    ]);
    return fc.record({
      pushes: fc.constant(pushes),
      order: fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length }),
      batchSizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 8 }),
    });
  });

/**
 * What the session rules guarantee for one stream, whatever the order and duplication of deliveries, after
 * every batch. With S = pushes whose start was applied, T = pushes whose stop was applied, L = the live
 * session (at most one per stream):
 * (a) L ∉ T: a push whose stop was applied is never live (also when the stop came first);
 * (b) L ∈ S, with that push's own startedAt;
 * (c) every start applied after L's start is of an older push (smaller startedAt) or of a push already
 *     stopped by then: a newer start always takes over, and nothing brings a replaced push back;
 * (d) a push in S \ T whose startedAt is strictly greater than every other push's in S is live: the newest
 *     running push is always shown, in any order (ties replace each other, so the strict bound matters);
 * (e) if S ⊆ T, nothing is live;
 * (f) a first delivery is applied, every repeat is a duplicate, and duplicates change nothing.
 * Not guaranteed: that L is the newest push of S \ T. (A newer push can replace an older running one and then
 * stop, leaving none live; a still older start arriving after that opens a session.)
 */
async function runScenario(
  pushes: Push[],
  order: Delivery[],
  batchSizes: number[],
): Promise<Session | undefined> {
  const store = new SqliteStore(':memory:');
  try {
    const applied: Delivery[] = []; // first deliveries, in application order
    const seen = new Set<string>();
    const stoppedBeforeStart = new Set<number>();
    let i = 0;
    for (let b = 0; i < order.length; b++) {
      const batch = order.slice(i, i + batchSizes[b % batchSizes.length]!);
      i += batch.length;
      const results = await store.apply(
        batch.map((d) => commandFor(pushes[d.push]!, d.op)),
        NOW_MS,
        TTL_MS,
      );
      batch.forEach((d, j) => {
        const id = `${d.push}/${d.op}`;
        // (f) first delivery applied, repeats are duplicates (also within one batch).
        assert.equal(results[j]!.duplicate, seen.has(id), `${id} duplicate flag`);
        if (seen.has(id)) return;
        seen.add(id);
        if (d.op === 'start' && seen.has(`${d.push}/stop`)) stoppedBeforeStart.add(d.push);
        applied.push(d);
      });

      const live = await store.loadSessions();
      assert.ok(live.length <= 1, 'one stream has at most one live session');
      const L = live[0];
      const S = new Set(applied.filter((d) => d.op === 'start').map((d) => d.push));
      const T = new Set(applied.filter((d) => d.op === 'stop').map((d) => d.push));
      const running = [...S].filter((p) => !T.has(p));
      if (L) {
        const l = pushes.findIndex((p) => p.sequence === L.sequence);
        assert.ok(!T.has(l), '(a) a stopped push is not live');
        assert.ok(S.has(l), '(b) only a started push is live');
        assert.equal(L.startedAt, pushes[l]!.startedAt, '(b) with its own startedAt');
        const after = applied.slice(applied.findIndex((d) => d.push === l && d.op === 'start') + 1);
        for (const d of after.filter((x) => x.op === 'start'))
          assert.ok(
            pushes[d.push]!.startedAt < L.startedAt || stoppedBeforeStart.has(d.push),
            '(c) no newer start was applied after the live one',
          );
      }
      for (const p of running) {
        const newest = [...S].every((q) => q === p || pushes[q]!.startedAt < pushes[p]!.startedAt);
        if (newest) assert.equal(L?.sequence, pushes[p]!.sequence, '(d) the newest running push is live');
      }
      if (running.length === 0) assert.equal(L, undefined, '(e) every started push stopped: none live');
    }
    return (await store.loadSessions())[0];
  } finally {
    await store.close();
  }
}

describe('session rules through SqliteStore.apply (property)', () => {
  it('hold for any interleaving and duplication of the starts and stops of several pushes', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ pushes, order, batchSizes }) => {
        const withDuplicates = await runScenario(pushes, order, batchSizes);
        // (f) duplicates change nothing: the first deliveries alone, one per batch, end in the same state.
        const firsts = order.filter(
          (d, i) => order.findIndex((x) => x.push === d.push && x.op === d.op) === i,
        );
        const withoutDuplicates = await runScenario(pushes, firsts, [1]);
        assert.deepEqual(withDuplicates, withoutDuplicates);
      }),
      { numRuns: 300 },
    );
  });

  it('the documented non-guarantee: an older running push may be live while a newer one ran and stopped', async () => {
    const pushes: Push[] = [
      { sequence: '1', startedAt: 10, starts: 1, stops: 0 },
      { sequence: '2', startedAt: 20, starts: 1, stops: 0 },
      { sequence: '3', startedAt: 30, starts: 1, stops: 1 },
    ];
    const order: Delivery[] = [
      { push: 1, op: 'start' },
      { push: 2, op: 'start' },
      { push: 2, op: 'stop' },
      { push: 0, op: 'start' },
    ];
    const live = await runScenario(pushes, order, [1]);
    assert.equal(live?.sequence, '1');
  });
});
