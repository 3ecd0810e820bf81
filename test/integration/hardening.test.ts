import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { errcodeLabels } from '../../src/tencent/codes.js';
import { pushException, pushStart, pushStop, recordFile } from '../../src/traffic/payloads.js';
import { signPayload } from '../../src/verify/sign.js';
import { KEY, startService, T0, type TestService } from '../helpers/service.js';

const NOW_S = T0 / 1000;
const D = 'mine.example.com';
const labels = { domain: D, app_name: 'live' };

describe('bounds on what a replayed signature can do', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({
      TENCENT_LIVE_DOMAINS: `${D},other.example.com`,
      TENCENT_LIVE_MAX_SESSIONS: '2',
      TENCENT_LIVE_MAX_TRACKED_STREAMS: '2',
    });
  });
  after(() => svc.close());

  test('callbacks for a push domain outside TENCENT_LIVE_DOMAINS are acknowledged as ignored, nothing else', async () => {
    const reply = await svc.postSigned(
      pushStart({ domain: 'forged.example.net', streamId: 'f', sequence: '1', eventTime: NOW_S }),
    );
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'ignored' }), 1);
    assert.equal(m.family('tencent_live_stream_starts_total').size, 0);
    assert.equal(m.family('tencent_live_streams_active').size, 0);
  });

  test('an event time further ahead than the signature window is refused, naming its field', async () => {
    const future = NOW_S + svc.config.signatureMaxAheadSeconds + 1;
    const reply = await svc.postSigned(
      pushStart({ domain: D, streamId: 'x', sequence: '1', eventTime: future }),
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.body.field, 'event_time');
    const report = await svc.postSigned(
      pushException({ domain: D, streamId: 'x', dataTimeMs: future * 1000 }),
    );
    assert.equal(report.body.field, 'data_time');
  });

  test('a recording whose end_time is that far ahead is counted, its end_time left out of the delay', async () => {
    const future = NOW_S + svc.config.signatureMaxAheadSeconds + 1;
    const delays = () =>
      svc.scrape().then((m) => m.get('tencent_live_callback_delay_seconds_count', { event: 'record' }) ?? 0);
    const recordings = () => svc.scrape().then((m) => m.get('tencent_live_recordings_total', labels) ?? 0);
    const [delaysBefore, recordingsBefore] = [await delays(), await recordings()];
    const reply = await svc.postSigned(recordFile({ domain: D, streamId: 'r', eventTime: future }));
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    assert.equal(await recordings(), recordingsBefore + 1);
    assert.equal(await delays(), delaysBefore);
    // One within the window still has its delay observed.
    await svc.postSigned(recordFile({ domain: D, streamId: 'r', fileId: 'now', eventTime: NOW_S }));
    assert.equal(await recordings(), recordingsBefore + 2);
    assert.equal(await delays(), delaysBefore + 1);
  });

  test('beyond TENCENT_LIVE_MAX_SESSIONS a start is counted but opens no session', async () => {
    for (const id of ['s1', 's2', 's3']) {
      assert.equal(
        (await svc.postSigned(pushStart({ domain: D, streamId: id, sequence: `9${id}`, eventTime: NOW_S })))
          .status,
        200,
      );
    }
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_starts_total', labels), 3);
    assert.equal(m.get('tencent_live_streams_active', labels), 2);
    assert.equal(m.get('tencent_live_sessions_refused_total'), 1);
    // A start that replaces a live session of the same stream is not refused.
    await svc.postSigned(pushStart({ domain: D, streamId: 's1', sequence: '9s1b', eventTime: NOW_S + 1 }));
    assert.equal(svc.app.sessions.get(`${D}\u0000live\u0000s1`)?.sequence, '9s1b');
  });

  test('a stream refused by the series cap shows stream_up once there is room again', async () => {
    // s1 and s2 hold the two series; s3 has no session (refused above). End s2 and open s4 later.
    await svc.postSigned(pushStop({ domain: D, streamId: 's2', sequence: '9s2', eventTime: NOW_S + 5 }));
    svc.clock.advance(svc.config.seriesGraceSeconds * 1000);
    await svc.app.receiver.sweep();
    await svc.postSigned(pushStart({ domain: D, streamId: 's4', sequence: '9s4', eventTime: NOW_S + 6 }));
    await svc.postSigned(
      pushException({ domain: D, streamId: 's4', sequence: '9s4', dataTimeMs: svc.clock.now() }),
    );
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_up', { ...labels, stream_id: 's4' }), 1);
  });

  test('a disconnect that matches no session still reports Tencent’s push_duration', async () => {
    const previous = await svc.scrape();
    const before = previous.get('tencent_live_stream_push_duration_seconds_count', labels) ?? 0;
    const unmatched = { ...labels, cause: 'no_session' };
    const beforeUnmatched = previous.get('tencent_live_stream_disconnects_unmatched_total', unmatched) ?? 0;
    await svc.postSigned(
      pushStop({
        domain: D,
        streamId: 'never-seen',
        sequence: '5',
        eventTime: NOW_S,
        pushDurationMs: 42_000,
      }),
    );
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_count', labels), before + 1);
    assert.equal(m.get('tencent_live_stream_disconnects_unmatched_total', unmatched), beforeUnmatched + 1);
  });

  test('lone UTF-16 surrogates in a stream id are refused (they would collapse into one label value)', async () => {
    const reply = await svc.post(
      JSON.stringify(
        signPayload(pushStart({ domain: D, streamId: 'a', sequence: '1', eventTime: NOW_S }), KEY, NOW_S),
      ).replace('"stream_id":"a"', '"stream_id":"\\ud800"'),
    );
    assert.equal(reply.status, 400);
    assert.equal(reply.body.field, 'stream_id');
  });

  test('an absurd push_duration is left out: the disconnect still counts, the duration histogram is not polluted', async () => {
    const previous = await svc.scrape();
    const disconnects = { ...labels, ...errcodeLabels(1) };
    const before = previous.get('tencent_live_stream_disconnects_total', disconnects) ?? 0;
    const sum = previous.get('tencent_live_stream_push_duration_seconds_sum', labels) ?? 0;
    const reply = await svc.postSigned({
      ...pushStop({ domain: D, streamId: 'z', sequence: '1', eventTime: NOW_S, errcode: 1 }),
      push_duration: '1e308',
    });
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_disconnects_total', disconnects), before + 1);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_sum', labels), sum);
  });

  test('a push of 31 days gets its disconnect counted and ends its session', async () => {
    const sum = (await svc.scrape()).get('tencent_live_stream_push_duration_seconds_sum', labels) ?? 0;
    await svc.postSigned(pushStart({ domain: D, streamId: 's1', sequence: 'long', eventTime: NOW_S + 10 }));
    const reply = await svc.postSigned(
      pushStop({
        domain: D,
        streamId: 's1',
        sequence: 'long',
        eventTime: NOW_S + 11,
        pushDurationMs: 31 * 86_400_000,
      }),
    );
    assert.deepEqual(reply, { status: 200, body: { code: 0 } });
    assert.equal(svc.app.sessions.get(`${D}\u0000live\u0000s1`), undefined);
    // Tencent's own duration, not the 1 s between our start and stop.
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_sum', labels), sum + 31 * 86_400);
  });
});

describe('TENCENT_LIVE_MAX_APPS bounds the domain/app_name labels a replayed signature can add', () => {
  test('forged push paths, also of an allowed domain or with no domain at all, fold into "_overflow"', async () => {
    const svc = await startService({ TENCENT_LIVE_DOMAINS: D, TENCENT_LIVE_MAX_APPS: '3' });
    try {
      await svc.postSigned(pushStart({ domain: D, streamId: 'real', sequence: '1', eventTime: NOW_S }));
      for (let i = 0; i < 20; i++) {
        const forged = { domain: D, appName: `forged-${i}`, streamId: `f${i}`, eventTime: NOW_S };
        assert.equal((await svc.postSigned(pushStop({ ...forged, sequence: String(i) }))).status, 200);
        // Recordings may carry no push domain: TENCENT_LIVE_DOMAINS lets them through.
        const recording = recordFile({ ...forged, domain: '', fileId: `file-${i}` });
        assert.equal((await svc.postSigned(recording)).status, 200);
      }
      const m = await svc.scrape();
      const pairs = new Set(
        m.text
          .split('\n')
          .flatMap((line) => /domain="([^"]*)",app_name="([^"]*)"/.exec(line)?.slice(1, 3).join('/') ?? []),
      );
      assert.equal(pairs.size, 4, [...pairs].join(' '));
      assert.ok(pairs.has(`${D}/live`) && pairs.has('_overflow/_overflow'));
      // 3 pairs admitted: the real one, the first forged disconnect's and the first recording's. Each later
      // disconnect moves three families (disconnects, unmatched, push duration), each recording one.
      assert.equal(m.get('tencent_live_apps_overflow_total'), 19 * 3 + 19);
      const overflowed = { domain: '_overflow', app_name: '_overflow' };
      assert.equal(m.get('tencent_live_recordings_total', overflowed), 19);
      assert.equal(m.get('tencent_live_stream_starts_total', { domain: D, app_name: 'live' }), 1);
    } finally {
      await svc.close();
    }
  });
});

describe('the older, unsigned 321 format', () => {
  const published = readFileSync(
    new URL('../../../shared/fixtures/tencent-docs/push-exception-321-en-2023.json', import.meta.url),
    'utf8',
  );

  test('is refused as missing_signature by default', async () => {
    const svc = await startService();
    try {
      const reply = await svc.post(published);
      assert.equal(reply.status, 401);
      assert.equal(reply.body.reason, 'missing_signature');
    } finally {
      await svc.close();
    }
  });

  test('is accepted exactly as published with TENCENT_LIVE_UNSIGNED_EVENT_TYPES=321; a bad signature still is not', async () => {
    const svc = await startService({ TENCENT_LIVE_UNSIGNED_EVENT_TYPES: '321' });
    try {
      assert.deepEqual(await svc.post(published), { status: 200, body: { code: 0 } });
      const m = await svc.scrape();
      assert.equal(
        m.get('tencent_live_push_exceptions_total', {
          domain: 'xxxx.xxxxx.xxxx.xxxx',
          app_name: 'xxxx',
          stream_id: 'xxxxxx',
          exception: 'audio_frame_interval_too_long',
        }),
        2,
      );
      const forged = {
        ...(JSON.parse(published) as object),
        data_time: 1,
        t: NOW_S + 600,
        sign: 'f'.repeat(32),
      };
      assert.equal((await svc.post(forged)).status, 401);
      const start = pushStart({ streamId: 'u', sequence: '1', eventTime: NOW_S });
      assert.equal((await svc.post(start)).status, 401, 'other kinds still need a signature');
    } finally {
      await svc.close();
    }
  });
});

describe('state store health', () => {
  test('after a failed write, the periodic probe keeps store_up at 0 while writes still fail', async () => {
    const svc = await startService();
    try {
      await svc.store.close();
      assert.equal(
        (await svc.postSigned(pushStart({ streamId: 'q', sequence: '1', eventTime: NOW_S }))).status,
        503,
      );
      await svc.app.receiver.sweep();
      const m = await svc.scrape();
      assert.equal(m.get('tencent_live_state_store_up', { store: 'sqlite' }), 0);
      assert.equal((await fetch(new URL('/-/ready', svc.metricsUrl))).status, 503);
    } finally {
      await svc.close();
    }
  });
});
