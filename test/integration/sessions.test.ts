import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pushException, pushStart, pushStop } from '../../src/traffic/payloads.js';
import { startService, T0, type TestService } from '../helpers/service.js';

const NOW_S = T0 / 1000;
const D = 'push.example.com';
const A = 'live';
const labels = { domain: D, app_name: A };
const alphaStart = pushStart({
  domain: D,
  appName: A,
  streamId: 'alpha',
  sequence: '1000000000000000001',
  eventTime: NOW_S,
});

describe('push sessions through HTTP', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(() => svc.close());

  test('a start opens a session: counted once, active, stream_up 1', async () => {
    const reply = await svc.postSigned(alphaStart);
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_starts_total', labels), 1);
    assert.equal(m.get('tencent_live_streams_active', labels), 1);
    assert.equal(m.get('tencent_live_stream_up', { ...labels, stream_id: 'alpha' }), 1);
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'accepted' }), 1);
  });

  test('a retry of the same start, re-signed later, is a duplicate and changes no other metric', async () => {
    const before = await svc.scrape();
    svc.clock.advance(60_000); // Tencent retries a minute later with a fresh t and sign
    const reply = await svc.postSigned(alphaStart);
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'duplicate' }), 1);
    assert.equal(m.get('tencent_live_stream_starts_total', labels), 1);
    assert.equal(m.get('tencent_live_streams_active', labels), 1);
    assert.equal(
      m.get('tencent_live_callback_delay_seconds_count', { event: 'push_start' }),
      before.get('tencent_live_callback_delay_seconds_count', { event: 'push_start' }),
      'a duplicate moves no histogram of the event',
    );
  });

  test('push exception reports count `count` per kind, per stream', async () => {
    const report = pushException({
      domain: D,
      appName: A,
      streamId: 'alpha',
      sequence: '1000000000000000001',
      dataTimeMs: svc.clock.now(),
      exceptions: [
        { type: 6, count: 3 },
        { type: 16, count: 1 },
        { type: 99, count: 2 },
      ],
      maxDetails: 1,
    });
    assert.equal((await svc.postSigned(report)).status, 200);
    assert.equal((await svc.postSigned(report)).status, 200); // a retry: counted once
    const m = await svc.scrape();
    const stream = { ...labels, stream_id: 'alpha' };
    const exc = (exception: string) => m.get('tencent_live_push_exceptions_total', { ...stream, exception });
    assert.equal(exc('video_frame_interval_too_long'), 3);
    assert.equal(exc('gop_too_large'), 1);
    assert.equal(exc('other'), 2);
    assert.equal(m.get('tencent_live_push_exception_reports_total', labels), 1);
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_exception', outcome: 'duplicate' }), 1);
  });

  test('the matching disconnect ends the session and observes its duration', async () => {
    const reply = await svc.postSigned(
      pushStop({
        domain: D,
        appName: A,
        streamId: 'alpha',
        sequence: '1000000000000000001',
        eventTime: NOW_S + 125,
        errcode: 13,
        pushDurationMs: 125_000,
      }),
    );
    assert.equal(reply.status, 200);
    const m = await svc.scrape();
    assert.equal(
      m.get('tencent_live_stream_disconnects_total', { ...labels, errcode: '13', reason: 'client_network' }),
      1,
    );
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_count', labels), 1);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_sum', labels), 125);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_bucket', { ...labels, le: '60' }), 0);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_bucket', { ...labels, le: '300' }), 1);
    assert.equal(m.get('tencent_live_streams_active', labels), undefined);
    assert.equal(
      m.get('tencent_live_stream_up', { ...labels, stream_id: 'alpha' }),
      0,
      'kept at 0 during grace',
    );
  });

  test('a disconnect before its start is counted, and the late start opens nothing', async () => {
    const seq = '2000000000000000002';
    const stop = pushStop({
      domain: D,
      appName: A,
      streamId: 'beta',
      sequence: seq,
      eventTime: NOW_S + 5,
      errcode: 1,
    });
    assert.equal((await svc.postSigned(stop)).status, 200);
    let m = await svc.scrape();
    assert.equal(
      m.get('tencent_live_stream_disconnects_unmatched_total', { ...labels, cause: 'no_session' }),
      1,
    );
    assert.equal(
      m.get('tencent_live_stream_disconnects_total', { ...labels, errcode: '1', reason: 'pusher_stopped' }),
      1,
    );
    const start = pushStart({ domain: D, appName: A, streamId: 'beta', sequence: seq, eventTime: NOW_S });
    assert.equal((await svc.postSigned(start)).status, 200);
    m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_starts_total', labels), 2, 'the start itself happened');
    assert.equal(m.get('tencent_live_streams_active', labels), undefined, 'but no session is open');
    assert.equal(m.get('tencent_live_stream_up', { ...labels, stream_id: 'beta' }), undefined);
  });

  test('a late disconnect of an older push does not end the newer session', async () => {
    const older = '3000000000000000001';
    const newer = '3000000000000000002';
    await svc.postSigned(
      pushStart({ domain: D, appName: A, streamId: 'gamma', sequence: older, eventTime: NOW_S }),
    );
    await svc.postSigned(
      pushStart({ domain: D, appName: A, streamId: 'gamma', sequence: newer, eventTime: NOW_S + 30 }),
    );
    const stale = pushStop({
      domain: D,
      appName: A,
      streamId: 'gamma',
      sequence: older,
      eventTime: NOW_S + 31,
    });
    assert.equal((await svc.postSigned(stale)).status, 200);
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_streams_active', labels), 1);
    assert.equal(m.get('tencent_live_stream_up', { ...labels, stream_id: 'gamma' }), 1);
    assert.equal(
      m.get('tencent_live_stream_disconnects_unmatched_total', { ...labels, cause: 'stale_sequence' }),
      1,
    );
    // A start of the older push arriving even later does not replace the newer one either.
    const lateStart = pushStart({
      domain: D,
      appName: A,
      streamId: 'gamma',
      sequence: '3000000000000000000',
      eventTime: NOW_S - 60,
    });
    await svc.postSigned(lateStart);
    assert.equal(svc.app.sessions.get(`${D}\u0000${A}\u0000gamma`)?.sequence, newer);
  });

  test('200 concurrent copies of one event are counted exactly once', async () => {
    const copy = pushStart({
      domain: D,
      appName: A,
      streamId: 'delta',
      sequence: '4000000000000000001',
      eventTime: NOW_S,
    });
    const before = (await svc.scrape()).get('tencent_live_stream_starts_total', labels) ?? 0;
    const replies = await Promise.all(Array.from({ length: 200 }, () => svc.postSigned(copy)));
    assert.ok(replies.every((r) => r.status === 200));
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_starts_total', labels), before + 1);
  });

  test('a session with no news for the maximum age expires', async () => {
    svc.clock.advance(svc.config.sessionMaxAgeSeconds * 1000 + 1);
    await svc.app.receiver.sweep();
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_streams_active', labels), undefined);
    assert.equal(m.get('tencent_live_sessions_expired_total'), 2, 'gamma and delta were live');
    assert.equal(m.get('tencent_live_stream_up', { ...labels, stream_id: 'gamma' }), 0);
  });
});
