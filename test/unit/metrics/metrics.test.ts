import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ExporterMetrics, OVERFLOW_LABEL, REJECTION_REASONS } from '../../../src/metrics/metrics.js';
import { SessionTable } from '../../../src/state/session-table.js';
import { Scrape } from '../../helpers/metrics-text.js';

function create(sessions = new SessionTable(), maxApps = 1000) {
  return new ExporterMetrics({
    version: '1.2.3',
    sessions,
    maxTrackedStreams: 777,
    maxApps,
    seriesGraceMs: 1000,
    seriesIdleMs: 2000,
  });
}

async function scrape(metrics: ExporterMetrics): Promise<Scrape> {
  let text = '';
  for await (const chunk of metrics.render()) text += chunk;
  return new Scrape(text);
}

describe('ExporterMetrics', () => {
  it('starts bounded label sets at 0, and exposes build info and the tracked-streams limit', async () => {
    const m = await scrape(create());
    for (const reason of REJECTION_REASONS)
      assert.equal(m.get('tencent_live_callbacks_rejected_total', { reason }), 0);
    for (const reason of ['ended', 'idle', 'overflow'])
      assert.equal(m.get('tencent_live_series_evictions_total', { reason }), 0);
    assert.equal(m.get('tencent_live_build_info', { version: '1.2.3' }), 1);
    assert.equal(m.get('tencent_live_tracked_streams_limit'), 777);
    assert.equal(m.get('tencent_live_tracked_streams'), 0);
    assert.equal(m.get('tencent_live_sessions_expired_total'), 0);
    assert.equal(m.get('tencent_live_dedup_keys_purged_total'), 0);
    assert.doesNotMatch(m.text, /^process_|^nodejs_/m, 'no process metrics unless asked for');
  });

  it('computes streams_active from the session table at scrape time, dropping apps with none', async () => {
    const sessions = new SessionTable();
    const metrics = create(sessions);
    const s = (domain: string, streamId: string) => ({
      domain,
      appName: 'live',
      streamId,
      sequence: '1',
      startedAt: 1,
      lastSeenAt: 1,
    });
    sessions.set(s('a.example.com', 'x'));
    sessions.set(s('a.example.com', 'y'));
    sessions.set(s('a.example.com', 'y'));
    sessions.set(s('b.example.com', 'x'));
    let m = await scrape(metrics);
    assert.equal(m.get('tencent_live_streams_active', { domain: 'a.example.com', app_name: 'live' }), 2);
    assert.equal(m.get('tencent_live_streams_active', { domain: 'b.example.com', app_name: 'live' }), 1);
    sessions.delete('b.example.com\u0000live\u0000x');
    sessions.delete('b.example.com\u0000live\u0000x');
    m = await scrape(metrics);
    assert.equal(
      m.get('tencent_live_streams_active', { domain: 'b.example.com', app_name: 'live' }),
      undefined,
    );
    assert.equal(sessions.size, 2);
  });

  it('counts at most TENCENT_LIVE_MAX_APPS domain/app_name pairs, later ones under "_overflow"', async () => {
    const sessions = new SessionTable();
    const metrics = create(sessions, 2);
    metrics.streamStarted('a.example.com', 'live');
    metrics.exceptionReported('a.example.com', 'backup');
    // Two pairs known: every family now labels a new pair "_overflow", and the overflow is counted.
    metrics.streamStarted('a.example.com', 'forged-1');
    metrics.streamDisconnected('a.example.com', 'forged-2', 3);
    metrics.disconnectUnmatched('', 'forged-3', 'no_session');
    metrics.pushEnded('a.example.com', 'forged-4', 10);
    metrics.exceptionReported('a.example.com', 'forged-5');
    metrics.recordingReported('', 'forged-6');
    metrics.screenshotReported('', 'forged-7');
    // A known pair keeps its labels, whatever came after it.
    metrics.streamDisconnected('a.example.com', 'live', 3);
    metrics.streamStarted('a.example.com', 'live');
    const m = await scrape(metrics);
    const overflow = { domain: OVERFLOW_LABEL, app_name: OVERFLOW_LABEL };
    const live = { domain: 'a.example.com', app_name: 'live' };
    assert.equal(m.get('tencent_live_apps_overflow_total'), 7);
    assert.equal(m.get('tencent_live_stream_starts_total', live), 2);
    assert.equal(m.get('tencent_live_stream_starts_total', overflow), 1);
    assert.equal(m.get('tencent_live_push_exception_reports_total', overflow), 1);
    assert.equal(m.get('tencent_live_recordings_total', overflow), 1);
    assert.equal(m.get('tencent_live_screenshots_total', overflow), 1);
    assert.equal(m.get('tencent_live_stream_push_duration_seconds_count', overflow), 1);
    assert.equal(
      m.get('tencent_live_stream_disconnects_unmatched_total', { ...overflow, cause: 'no_session' }),
      1,
    );
    const pairs = new Set(
      m.text
        .split('\n')
        .flatMap((line) => /domain="([^"]*)",app_name="([^"]*)"/.exec(line)?.slice(1, 3).join('/') ?? []),
    );
    assert.deepEqual([...pairs].sort(), [
      '_overflow/_overflow',
      'a.example.com/backup',
      'a.example.com/live',
    ]);
    // A forged pair again: counted again, and not remembered (the cache of children stays bounded).
    metrics.streamStarted('a.example.com', 'forged-1');
    metrics.exceptionReported('a.example.com', 'forged-5');
    const again = await scrape(metrics);
    assert.equal(again.get('tencent_live_apps_overflow_total'), 9);
    assert.equal(again.get('tencent_live_stream_starts_total', overflow), 2);
  });

  it('folds streams_active beyond the cap the same way on every replica, whatever each saw first', async () => {
    const sessions = new SessionTable();
    const session = (domain: string) => ({
      domain,
      appName: 'live',
      streamId: 's',
      sequence: '1',
      startedAt: 1,
      lastSeenAt: 1,
    });
    for (const domain of ['c.example.com', 'a.example.com', 'b.example.com']) sessions.set(session(domain));
    // Two replicas that share the sessions (as with a shared store) and saw different callbacks first.
    const [one, two] = [create(sessions, 2), create(sessions, 2)];
    one.streamStarted('c.example.com', 'live');
    two.streamStarted('b.example.com', 'live');
    const active = async (metrics: ExporterMetrics) =>
      (await scrape(metrics)).text
        .split('\n')
        .filter((line) => line.startsWith('tencent_live_streams_active{'));
    const lines = await active(one);
    assert.deepEqual(lines, await active(two));
    assert.deepEqual(lines, [
      'tencent_live_streams_active{domain="a.example.com",app_name="live"} 1',
      'tencent_live_streams_active{domain="b.example.com",app_name="live"} 1',
      `tencent_live_streams_active{domain="${OVERFLOW_LABEL}",app_name="${OVERFLOW_LABEL}"} 1`,
    ]);
    assert.equal((await scrape(one)).get('tencent_live_apps_overflow_total'), 0, 'scrapes count no overflow');
  });

  it('labels disconnects by errcode and its class, folding unknown codes into "other"', async () => {
    const metrics = create();
    metrics.streamDisconnected('d', 'live', 3);
    metrics.streamDisconnected('d', 'live', 21);
    metrics.streamDisconnected('d', 'live', 40);
    metrics.streamDisconnected('d', 'live', -1);
    const m = await scrape(metrics);
    const at = (errcode: string, reason: string) =>
      m.get('tencent_live_stream_disconnects_total', { domain: 'd', app_name: 'live', errcode, reason });
    assert.equal(at('3', 'pusher_stopped'), 1);
    assert.equal(at('21', 'api_stopped'), 1);
    assert.equal(at('other', 'unknown'), 2);
  });

  it('counts a rejection in both the rejection and the callback counters', async () => {
    const metrics = create();
    metrics.rejected('push_start', 'expired', 0.001);
    metrics.callback('push_start', 'accepted', 0.002, -5);
    const m = await scrape(metrics);
    assert.equal(m.get('tencent_live_callbacks_rejected_total', { reason: 'expired' }), 1);
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'rejected' }), 1);
    assert.equal(m.get('tencent_live_callback_duration_seconds_count', { event: 'push_start' }), 2);
    // A negative delay (clocks apart) is observed as 0, never as a negative sum.
    assert.equal(m.get('tencent_live_callback_delay_seconds_sum', { event: 'push_start' }), 0);
  });

  it('renders one exposition that promtool check metrics accepts', async () => {
    const metrics = create();
    metrics.streamStarted('d', 'live');
    metrics.pushEnded('d', 'live', 42);
    metrics.exceptionReported('d', 'live');
    metrics.streams.live('k', 'd', 'live', 's"1', 0);
    metrics.streams.addExceptions('k', 'd', 'live', 's"1', [{ index: 3, count: 1 }], 0);
    metrics.storeAvailable('sqlite', true);
    const { text } = await scrape(metrics);
    const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.match(metrics.contentType, /^text\/plain/);
  });
});
