import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { ExporterMetrics } from '../../src/metrics/metrics.js';
import { GROUP_BATCH, Receiver } from '../../src/receiver.js';
import { ManualClock } from '../../src/state/clock.js';
import { sessionKey } from '../../src/state/session.js';
import { SessionTable } from '../../src/state/session-table.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { StateStore } from '../../src/state/store.js';
import { signPayload } from '../../src/verify/sign.js';
import { Scrape } from '../helpers/metrics-text.js';

const KEY = 'receiver-unit-key';
const T0 = Date.UTC(2026, 10, 22, 8, 0, 0);
const T0_S = T0 / 1000;
const LABELS = { domain: 'push.example.com', app_name: 'live' };

interface Harness {
  readonly receiver: Receiver;
  readonly metrics: ExporterMetrics;
  readonly sessions: SessionTable;
  readonly clock: ManualClock;
  readonly config: Config;
  readonly logLines: Record<string, unknown>[];
  post(payload: object, signed?: boolean): ReturnType<Receiver['handle']>;
  scrape(): Promise<Scrape>;
}

const stores: StateStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

/**
 * A receiver on a fresh store. Group commit is off (`commitIntervalMs` 0: each batch commits in the next turn,
 * as the tests below assume) unless a test sets an interval.
 */
function harness(
  env: Record<string, string> = {},
  store: StateStore = new SqliteStore(':memory:'),
  commitIntervalMs = 0,
): Harness {
  stores.push(store);
  const config = loadConfig({ TENCENT_LIVE_CALLBACK_KEYS: KEY, ...env });
  const clock = new ManualClock(T0);
  const sessions = new SessionTable();
  const metrics = new ExporterMetrics({
    version: 'test',
    sessions,
    maxTrackedStreams: config.maxTrackedStreams,
    maxApps: config.maxApps,
    seriesGraceMs: config.seriesGraceSeconds * 1000,
    seriesIdleMs: config.seriesIdleSeconds * 1000,
  });
  const logLines: Record<string, unknown>[] = [];
  const log = createLogger('info', {
    write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const receiver = new Receiver({ config, clock, store, metrics, sessions, log, commitIntervalMs });
  return {
    receiver,
    metrics,
    sessions,
    clock,
    config,
    logLines,
    post: (payload, signed = true) =>
      receiver.handle(
        signed ? signPayload(payload, KEY, Math.floor(clock.now() / 1000)) : { ...payload },
        performance.now(),
      ),
    scrape: async () => {
      let text = '';
      for await (const chunk of metrics.render()) text += chunk;
      return new Scrape(text);
    },
  };
}

function push(eventType: 0 | 1, streamId: string, sequence: string, eventTime: number, extra: object = {}) {
  return {
    event_type: eventType,
    app: LABELS.domain,
    appname: LABELS.app_name,
    stream_id: streamId,
    channel_id: streamId,
    sequence,
    event_time: eventTime,
    errcode: eventType === 0 ? 1 : 0,
    ...extra,
  };
}

function report(streamId: string, dataTimeMs: number) {
  return {
    event_type: 321,
    domain: LABELS.domain,
    path: LABELS.app_name,
    stream_id: streamId,
    sequence: '000000000000000000',
    data_time: dataTimeMs,
    report_interval: 5000,
    abnormal_event: [{ type: 6, count: 2 }],
  };
}

const OK = { status: 200, body: { code: 0 } };

describe('Receiver: exception reports keep a session alive', () => {
  it('a session with regular exception reports does not expire; without them it does', async () => {
    const h = harness({ TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: '3600' });
    assert.deepEqual(await h.post(push(1, 'reporting', '1', T0_S)), OK);
    assert.deepEqual(await h.post(push(1, 'quiet', '2', T0_S)), OK);
    for (let minute = 10; minute <= 90; minute += 10) {
      h.clock.set(T0 + minute * 60_000);
      assert.deepEqual(await h.post(report('reporting', h.clock.now())), OK);
      await h.receiver.sweep();
    }
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: 'reporting' }), 1);
    // Expired at the sweep after minute 60, its series went one grace period (5 min) later.
    assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: 'quiet' }), undefined);
    assert.equal(m.get('tencent_live_series_evictions_total', { reason: 'ended' }), 1);
    assert.equal(m.get('tencent_live_sessions_expired_total'), 1);
    assert.equal(m.get('tencent_live_streams_active', LABELS), 1);
  });

  it('expires many sessions in chunks; starts arriving between two chunks stay live', async () => {
    const h = harness({ TENCENT_LIVE_SESSION_MAX_AGE_SECONDS: '3600' });
    const streamKey = (streamId: string) =>
      sessionKey({ domain: LABELS.domain, appName: LABELS.app_name, streamId });
    // Chunks of 200 go oldest first: 'early' expires with the first chunk, 'late' with the last.
    assert.deepEqual(await h.post(push(1, 'early', '1', T0_S)), OK);
    h.clock.advance(1);
    await Promise.all(Array.from({ length: 1200 }, (_, i) => h.post(push(1, `quiet-${i}`, '1', T0_S))));
    h.clock.advance(1000);
    assert.deepEqual(await h.post(push(1, 'late', '1', T0_S + 1)), OK);
    h.clock.set(T0 + 2 * 3600_000);
    const sweeping = h.receiver.sweep();
    // The first turn after the first chunk: both streams come back with a new push.
    const restarted = await new Promise<unknown[]>((resolve) =>
      setImmediate(() =>
        resolve([h.post(push(1, 'early', '2', T0_S + 7200)), h.post(push(1, 'late', '2', T0_S + 7200))]),
      ),
    );
    await sweeping;
    assert.deepEqual(await Promise.all(restarted), [OK, OK]);
    const m = await h.scrape();
    // 'early' expired before it came back; 'late' came back (a new push replaced it) before its chunk.
    assert.equal(m.get('tencent_live_sessions_expired_total'), 1201);
    assert.equal(h.sessions.size, 2);
    for (const streamId of ['early', 'late']) {
      assert.equal(h.sessions.get(streamKey(streamId))?.sequence, '2', streamId);
      assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: streamId }), 1, streamId);
    }
  });

  it('the upkeep forgets de-duplication keys after the TTL and counts them', async () => {
    const h = harness({ TENCENT_LIVE_DEDUP_TTL_SECONDS: '900' });
    const reports = [1, 2, 3].map((i) => report(`s-${i}`, h.clock.now()));
    for (const body of reports) assert.deepEqual(await h.post(body), OK);
    h.clock.advance(899_999);
    await h.receiver.sweep();
    assert.equal((await h.scrape()).get('tencent_live_dedup_keys_purged_total'), 0);
    h.clock.advance(1);
    await h.receiver.sweep();
    assert.equal((await h.scrape()).get('tencent_live_dedup_keys_purged_total'), 3);
    // A very late retry is an event again (the clock says the signature is still valid: t is signed anew).
    await h.post(reports[0]!);
    const outcome = { event: 'push_exception', outcome: 'accepted' };
    assert.equal((await h.scrape()).get('tencent_live_callbacks_total', outcome), 4);
  });

  it('persists lastSeenAt at most once a minute, so a burst of reports costs no writes', async () => {
    const store = new SqliteStore(':memory:');
    const h = harness({}, store);
    await h.post(push(1, 's', '1', T0_S));
    h.clock.advance(59_999);
    await h.post(report('s', h.clock.now()));
    assert.equal((await store.loadSessions())[0]?.lastSeenAt, T0);
    h.clock.advance(1);
    await h.post(report('s', h.clock.now()));
    assert.equal((await store.loadSessions())[0]?.lastSeenAt, T0 + 60_000);
    assert.equal([...h.sessions.values()][0]?.lastSeenAt, T0 + 60_000, 'the memory mirror follows');
  });
});

describe('Receiver: group commit', () => {
  /** A SQLite store that notes when each batch reached it, and how large it was. */
  class CountingStore extends SqliteStore {
    readonly batches: { size: number; at: number }[] = [];
    override apply(...args: Parameters<SqliteStore['apply']>) {
      this.batches.push({ size: args[0].length, at: performance.now() });
      return super.apply(...args);
    }
  }
  const INTERVAL_MS = 200;
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('callbacks that come one by one soon after a commit wait for the interval and share one commit', async () => {
    const store = new CountingStore(':memory:');
    const h = harness({}, store, INTERVAL_MS);
    const sent = performance.now();
    // The store was idle: committed in the next turn, without waiting.
    assert.deepEqual(await h.post(report('a', h.clock.now())), OK);
    assert.equal(store.batches.length, 1);
    assert.ok(store.batches[0]!.at - sent < INTERVAL_MS / 2, 'the first callback did not wait');
    // Two more, a turn apart: the first waits for the interval, the second joins it.
    const b = h.post(report('b', h.clock.now()));
    await nextTurn();
    await nextTurn();
    const c = h.post(report('c', h.clock.now()));
    assert.deepEqual(await Promise.all([b, c]), [OK, OK]);
    assert.deepEqual(
      store.batches.map((batch) => batch.size),
      [1, 2],
    );
    // Timers may fire up to a millisecond early (they count whole milliseconds).
    assert.ok(store.batches[1]!.at - store.batches[0]!.at >= INTERVAL_MS - 1, 'the second commit waited');
    assert.equal(
      (await h.scrape()).get('tencent_live_callbacks_total', {
        event: 'push_exception',
        outcome: 'accepted',
      }),
      3,
    );
  });

  it(`a batch of ${GROUP_BATCH} commits at once, however recent the last commit`, async () => {
    const store = new CountingStore(':memory:');
    const h = harness({}, store, INTERVAL_MS);
    assert.deepEqual(await h.post(report('first', h.clock.now())), OK);
    const answers = await Promise.all(
      Array.from({ length: GROUP_BATCH }, (_, i) => h.post(report(`s-${i}`, h.clock.now()))),
    );
    assert.ok(answers.every((answer) => answer.status === 200));
    assert.deepEqual(
      store.batches.map((batch) => batch.size),
      [1, GROUP_BATCH],
    );
    assert.ok(store.batches[1]!.at - store.batches[0]!.at < INTERVAL_MS / 2, 'the large batch did not wait');
  });

  it('a waiting batch is still committed and answered when the receiver drains', async () => {
    const store = new CountingStore(':memory:');
    const h = harness({}, store, INTERVAL_MS);
    assert.deepEqual(await h.post(report('first', h.clock.now())), OK);
    const waiting = h.post(report('second', h.clock.now()));
    await h.receiver.drain();
    assert.equal(store.batches.length, 2);
    assert.deepEqual(await waiting, OK);
  });
});

describe('Receiver: start-up', () => {
  it('load() fails, and the receiver is not ready, when the store can be read but not written', async () => {
    class ReadOnlyStore extends SqliteStore {
      override ping(): Promise<void> {
        return Promise.reject(new Error('attempt to write a readonly database'));
      }
    }
    const h = harness({}, new ReadOnlyStore(':memory:'));
    await assert.rejects(h.receiver.load(), /readonly/);
    assert.equal(h.receiver.loaded, false);
  });

  it('load() rebuilds live sessions and their stream_up series from the store', async () => {
    const store = new SqliteStore(':memory:');
    const first = harness({}, store);
    await first.post(push(1, 'a', '1', T0_S));
    await first.post(push(1, 'b', '2', T0_S));
    await first.post(push(0, 'b', '2', T0_S + 60));

    const second = harness({}, store);
    assert.equal(second.receiver.loaded, false);
    assert.equal(await second.receiver.load(), 1);
    assert.equal(second.receiver.loaded, true);
    const m = await second.scrape();
    assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: 'a' }), 1);
    assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: 'b' }), undefined);
    assert.equal(m.get('tencent_live_streams_active', LABELS), 1);
    assert.equal(m.get('tencent_live_state_store_up', { store: 'sqlite' }), 1);
    // A retry of the first start, after the restart, is still a duplicate.
    assert.deepEqual(await second.post(push(1, 'a', '1', T0_S)), OK);
    assert.equal(
      (await second.scrape()).get('tencent_live_callbacks_total', {
        event: 'push_start',
        outcome: 'duplicate',
      }),
      1,
    );
  });
});

describe('Receiver: session results reach the mirror and the metrics', () => {
  it('a late start of an older push leaves the newer session live; its stop is counted as stale_sequence', async () => {
    const h = harness();
    await h.post(push(1, 's', '2', T0_S + 100));
    await h.post(push(1, 's', '1', T0_S));
    assert.equal([...h.sessions.values()][0]?.sequence, '2');
    await h.post(push(0, 's', '1', T0_S + 50));
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_stream_up', { ...LABELS, stream_id: 's' }), 1);
    assert.equal(
      m.get('tencent_live_stream_disconnects_unmatched_total', { ...LABELS, cause: 'stale_sequence' }),
      1,
    );
    assert.equal(m.get('tencent_live_stream_starts_total', LABELS), 2);
  });

  it('without push_duration the duration is the stop time minus the start time', async () => {
    const h = harness();
    await h.post(push(1, 's', '1', T0_S));
    await h.post(push(0, 's', '1', T0_S + 125));
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_sum', LABELS), 125);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_count', LABELS), 1);
    assert.equal(
      m.get('tencent_live_stream_disconnects_total', { ...LABELS, errcode: '1', reason: 'pusher_stopped' }),
      1,
    );
  });

  it('push_duration (a string of ms) wins over the event times', async () => {
    const h = harness();
    await h.post(push(1, 's', '1', T0_S));
    await h.post(push(0, 's', '1', T0_S + 125, { push_duration: '90500' }));
    assert.equal((await h.scrape()).get('tencent_live_stream_push_duration_seconds_sum', LABELS), 90.5);
  });

  it('observes the delay between the event time and its arrival', async () => {
    const h = harness();
    h.clock.set(T0 + 42_000);
    await h.post(push(1, 's', '1', T0_S));
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_callback_delay_seconds_sum', { event: 'push_start' }), 42);
    assert.equal(m.get('tencent_live_callback_delay_seconds_bucket', { event: 'push_start', le: '30' }), 0);
    assert.equal(m.get('tencent_live_callback_delay_seconds_bucket', { event: 'push_start', le: '60' }), 1);
  });
});

describe('Receiver: TENCENT_LIVE_MAX_SESSIONS', () => {
  it('holds for starts that arrive together: checked as each batch is applied, not as each start arrives', async () => {
    const h = harness({ TENCENT_LIVE_MAX_SESSIONS: '3' });
    await h.post(push(1, 'first', '1', T0_S));
    // All twenty are in one batch, each seeing one live session on arrival; one restarts 'first'.
    const answers = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => h.post(push(1, `c${i}`, String(i), T0_S))),
      h.post(push(1, 'first', '2', T0_S + 1)),
    ]);
    assert.deepEqual(new Set(answers), new Set([OK]));
    assert.equal(h.sessions.size, 3);
    assert.equal(h.sessions.get(`${LABELS.domain}\u0000${LABELS.app_name}\u0000first`)?.sequence, '2');
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_stream_starts_total', LABELS), 22);
    assert.equal(m.get('tencent_live_streams_active', LABELS), 3);
    assert.equal(m.get('tencent_live_sessions_refused_total'), 18);
  });

  it('a disconnect earlier in the same batch frees its room for a start', async () => {
    const h = harness({ TENCENT_LIVE_MAX_SESSIONS: '1' });
    await h.post(push(1, 'a', '1', T0_S));
    await Promise.all([h.post(push(0, 'a', '1', T0_S + 60)), h.post(push(1, 'b', '2', T0_S + 60))]);
    assert.deepEqual(
      [...h.sessions.values()].map((session) => session.streamId),
      ['b'],
    );
    assert.equal((await h.scrape()).get('tencent_live_sessions_refused_total'), 0);
  });

  it('a retry of a start, or a start whose push already ended, takes no room', async () => {
    const h = harness({ TENCENT_LIVE_MAX_SESSIONS: '2' });
    const ended = push(1, 'x', '9', T0_S);
    await h.post(ended);
    await h.post(push(0, 'x', '9', T0_S + 10));
    await h.post(push(0, 'y', '8', T0_S + 10)); // y's disconnect overtook its start
    await h.post(push(1, 'a', '1', T0_S));
    h.clock.advance(60_000);
    await Promise.all([h.post(ended), h.post(push(1, 'y', '8', T0_S)), h.post(push(1, 'b', '2', T0_S + 60))]);
    assert.ok(h.sessions.get(`${LABELS.domain}\u0000${LABELS.app_name}\u0000b`));
    assert.equal(h.sessions.size, 2);
    assert.equal((await h.scrape()).get('tencent_live_sessions_refused_total'), 0);
  });

  it('a refused start is counted once, however often Tencent retries it', async () => {
    const h = harness({ TENCENT_LIVE_MAX_SESSIONS: '1' });
    await h.post(push(1, 'a', '1', T0_S));
    for (let i = 0; i < 3; i++) {
      h.clock.advance(60_000);
      await h.post(push(1, 'b', '2', T0_S));
    }
    const m = await h.scrape();
    assert.equal(m.get('tencent_live_sessions_refused_total'), 1);
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'duplicate' }), 2);
  });
});

describe('Receiver: TENCENT_LIVE_MAX_TRACKED_STREAMS', () => {
  it('a live stream the cap refused its series gets them at the upkeep once there is room', async () => {
    const h = harness({ TENCENT_LIVE_MAX_TRACKED_STREAMS: '1', TENCENT_LIVE_SERIES_GRACE_SECONDS: '0' });
    const up = async (streamId: string) =>
      (await h.scrape()).get('tencent_live_stream_up', { ...LABELS, stream_id: streamId });
    await h.post(push(1, 'a', '1', T0_S));
    await h.post(push(1, 'b', '2', T0_S));
    assert.equal(await up('b'), undefined);
    await h.receiver.sweep(); // no room yet: nothing changes
    assert.equal(await up('b'), undefined);
    await h.post(push(0, 'a', '1', T0_S + 10));
    h.clock.advance(1000);
    await h.receiver.sweep();
    assert.equal(await up('a'), undefined);
    assert.equal(await up('b'), 1);
  });
});

describe('Receiver: signing modes', () => {
  it('answers each signature problem with its reason and the field it is about', async () => {
    const h = harness();
    const body = push(1, 's', '1', T0_S);
    const now = Math.floor(h.clock.now() / 1000);
    const signed = signPayload(body, KEY, now);
    const cases: [object, string, string][] = [
      [body, 'missing_signature', 't'],
      [{ ...signed, t: undefined }, 'missing_signature', 't'],
      [{ ...signed, sign: undefined }, 'missing_signature', 'sign'],
      [{ ...signed, sign: '0'.repeat(32) }, 'bad_signature', 'sign'],
      [{ ...signed, t: `${now}.5` }, 'bad_signature', 't'],
      [signPayload(body, KEY, now - 600 - h.config.clockSkewSeconds - 1), 'expired', 't'],
      [signPayload(body, KEY, now, h.config.signatureMaxAheadSeconds + 1), 'not_yet_valid', 't'],
    ];
    for (const [payload, reason, field] of cases) {
      const answer = await h.post(payload, false);
      assert.equal(answer.status, 401, reason);
      assert.equal(answer.body.reason, reason);
      assert.equal(answer.body.field, field);
    }
    const m = await h.scrape();
    for (const reason of new Set(cases.map(([, reason]) => reason)))
      assert.equal(
        m.get('tencent_live_callbacks_rejected_total', { reason }),
        cases.filter((c) => c[1] === reason).length,
      );
    assert.equal(
      m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'rejected' }),
      cases.length,
    );
  });

  it('unsigned mode accepts a callback without t/sign', async () => {
    const h = harness({ TENCENT_LIVE_CALLBACK_KEYS: '', TENCENT_LIVE_ALLOW_UNSIGNED: 'true' });
    assert.deepEqual(await h.post(push(1, 's', '1', T0_S), false), OK);
    assert.equal((await h.scrape()).get('tencent_live_stream_starts_total', LABELS), 1);
  });
});

describe('Receiver: logs', () => {
  it('never logs sign, t or the key; repeated rejections of one reason are muted for 10 s', async () => {
    const h = harness();
    const forged = { ...push(1, 's', '1', T0_S), t: T0_S + 600, sign: 'f'.repeat(32) };
    for (let i = 0; i < 5; i++) await h.post(forged, false);
    await h.post({ event_type: 1 }, true);
    assert.equal(h.logLines.filter((l) => l['reason'] === 'bad_signature').length, 1);
    assert.equal(h.logLines.filter((l) => l['reason'] === 'invalid_payload').length, 1);
    h.clock.advance(10_000);
    await h.post(forged, false);
    assert.equal(h.logLines.filter((l) => l['reason'] === 'bad_signature').length, 2);
    const text = JSON.stringify(h.logLines);
    assert.doesNotMatch(text, /f{32}/);
    assert.ok(!text.includes(KEY));
    assert.ok(!text.includes(String(T0_S + 600)));
  });
});
