import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pushException, pushStart, pushStop } from '../../src/traffic/payloads.js';
import { startService, T0, type TestService } from '../helpers/service.js';

const NOW_S = T0 / 1000;
const up = (streamId: string) => ({ domain: 'd.example.com', app_name: 'live', stream_id: streamId });
const ids = { domain: 'd.example.com', appName: 'live' };

describe('per-stream series: grace, idle, cap (injected clock)', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService({
      TENCENT_LIVE_SERIES_GRACE_SECONDS: '300',
      TENCENT_LIVE_SERIES_IDLE_SECONDS: '600',
      TENCENT_LIVE_MAX_TRACKED_STREAMS: '3',
    });
  });
  after(() => svc.close());

  test('an ended stream keeps stream_up 0 for the grace period, then its series disappear', async () => {
    await svc.postSigned(pushStart({ ...ids, streamId: 'ended', sequence: '11', eventTime: NOW_S }));
    await svc.postSigned(pushException({ ...ids, streamId: 'ended', sequence: '11', dataTimeMs: T0 }));
    await svc.postSigned(pushStop({ ...ids, streamId: 'ended', sequence: '11', eventTime: NOW_S + 10 }));
    svc.clock.advance(299_000);
    await svc.app.receiver.sweep();
    let m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_up', up('ended')), 0);
    assert.equal(m.get('tencent_live_tracked_streams'), 1);
    svc.clock.advance(1_000);
    await svc.app.receiver.sweep();
    m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_up', up('ended')), undefined);
    assert.equal(m.family('tencent_live_push_exceptions_total').size, 0);
    assert.equal(m.get('tencent_live_series_evictions_total', { reason: 'ended' }), 1);
    assert.equal(m.get('tencent_live_tracked_streams'), 0);
  });

  test('a stream known only from exception reports is dropped when idle', async () => {
    await svc.postSigned(pushException({ ...ids, streamId: 'orphan', dataTimeMs: svc.clock.now() }));
    let m = await svc.scrape();
    assert.equal(m.get('tencent_live_stream_up', up('orphan')), undefined, 'not known to be live');
    assert.ok(
      (m.get('tencent_live_push_exceptions_total', {
        ...up('orphan'),
        exception: 'video_frame_interval_too_long',
      }) ?? 0) > 0,
    );
    svc.clock.advance(600_000);
    await svc.app.receiver.sweep();
    m = await svc.scrape();
    assert.equal(m.family('tencent_live_push_exceptions_total').size, 0);
    assert.equal(m.get('tencent_live_series_evictions_total', { reason: 'idle' }), 1);
  });

  test('a live stream is not idle-expired however quiet it is', async () => {
    await svc.postSigned(
      pushStart({ ...ids, streamId: 'quiet', sequence: '21', eventTime: svc.clock.now() / 1000 }),
    );
    svc.clock.advance(3 * 600_000);
    await svc.app.receiver.sweep();
    assert.equal((await svc.scrape()).get('tencent_live_stream_up', up('quiet')), 1);
  });

  test('beyond the cap new streams get no series, counted as overflow; sessions still count as active', async () => {
    const now = svc.clock.now() / 1000;
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      await svc.postSigned(pushStart({ ...ids, streamId: id, sequence: `3${id.slice(1)}`, eventTime: now }));
    }
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_tracked_streams'), 3);
    assert.equal(m.get('tencent_live_tracked_streams_limit'), 3);
    assert.equal(m.get('tencent_live_series_evictions_total', { reason: 'overflow' }), 2);
    assert.equal(m.get('tencent_live_stream_up', up('c3')), undefined);
    assert.equal(m.get('tencent_live_streams_active', { domain: 'd.example.com', app_name: 'live' }), 5);
  });
});
