// Tencent Live / Overview: what the streams are doing, for the people who run the streams.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

import {
  UIDS,
  baseDashboard,
  heatmapPanel,
  quantile,
  sharedGauge,
  statPanel,
  sumRate,
  tablePanel,
  timeseriesPanel,
  toModel,
  totalOverRange,
  type DataLink,
  type Json,
} from './common.js';

/** Disconnect reasons that mean "someone stopped the push on purpose" (PROTOCOL.md §3). */
const NORMAL_REASONS = 'pusher_stopped|api_stopped';

const streamLink: DataLink = {
  title: 'Open in Tencent Live / Stream',
  url:
    `/d/${UIDS.stream}/tencent-live-stream?var-stream_id=\${__value.raw}` +
    '&${datasource:queryparam}&${job:queryparam}&${instance:queryparam}&${__url_time_range}',
  targetBlank: false,
};

export function overviewDashboard(): Json {
  const builder = baseDashboard({
    uid: UIDS.overview,
    title: 'Tencent Live / Overview',
    description:
      'Push streams seen through Tencent Cloud CSS callbacks: live streams, starts and disconnects, ' +
      'disconnect reasons, push exceptions, and how the callbacks were answered.',
  })
    .withRow(new dashboard.RowBuilder('Streams'))
    .withPanel(
      statPanel({
        title: 'Live streams',
        description:
          'Push sessions live now, across every push domain and path. Every replica reports the same ' +
          'shared state, so replicas are not added up. 0 when nothing is live (the service then exports ' +
          'no streams_active series at all).',
        unit: 'short',
        targets: [
          {
            expr: `${sharedGauge([], 'tencent_live_streams_active', ['domain', 'app_name'])} or vector(0)`,
            legend: 'live',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Stream starts',
        description: 'Push-start callbacks (event_type 1) per second, over every replica.',
        unit: 'cps',
        targets: [
          { expr: `${sumRate([], 'tencent_live_stream_starts_total')} or vector(0)`, legend: 'starts' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Abnormal disconnects',
        description:
          'Disconnects per second whose reason is not a deliberate stop (pusher_stopped, api_stopped): ' +
          'network trouble, auth failures, bad content and the like.',
        unit: 'cps',
        targets: [
          {
            expr: `${sumRate([], 'tencent_live_stream_disconnects_total', `reason!~"${NORMAL_REASONS}"`)} or vector(0)`,
            legend: 'abnormal',
          },
        ],
        thresholds: [
          { value: null, color: 'green' },
          { value: 0.001, color: 'orange' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Push exceptions',
        description: 'Push exceptions (event_type 321, summed over their counts) per second, every kind.',
        unit: 'cps',
        targets: [
          { expr: `${sumRate([], 'tencent_live_push_exceptions_total')} or vector(0)`, legend: 'exceptions' },
        ],
        thresholds: [
          { value: null, color: 'green' },
          { value: 0.001, color: 'orange' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Live streams by push domain and path',
        description:
          'Push sessions live at each moment, per push domain and app name (push path). Taken from the ' +
          'shared session state, so several replicas show the same number once.',
        unit: 'short',
        stack: true,
        min: 0,
        targets: [
          {
            expr: sharedGauge(['domain', 'app_name'], 'tencent_live_streams_active', ['domain', 'app_name']),
            legend: '{{domain}}/{{app_name}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Starts and disconnects',
        description:
          'Push-start (event_type 1) and push-stop (event_type 0) callbacks per second, over every replica. ' +
          'A retried callback is counted once.',
        unit: 'cps',
        min: 0,
        targets: [
          { expr: sumRate([], 'tencent_live_stream_starts_total'), legend: 'starts' },
          { expr: sumRate([], 'tencent_live_stream_disconnects_total'), legend: 'disconnects' },
        ],
      }),
    )
    .withRow(new dashboard.RowBuilder('Disconnects'))
    .withPanel(
      timeseriesPanel({
        title: 'Disconnects by reason',
        description:
          'Disconnects per second by reason, a class of Tencent errcodes (PROTOCOL.md §3). pusher_stopped ' +
          'and api_stopped are deliberate stops; the others point at a problem.',
        unit: 'cps',
        stack: true,
        min: 0,
        targets: [
          { expr: sumRate(['reason'], 'tencent_live_stream_disconnects_total'), legend: '{{reason}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Disconnects by errcode',
        description:
          'Disconnects per second by Tencent errcode ("0"–"39", or "other"), with its reason class.',
        unit: 'cps',
        stack: true,
        min: 0,
        targets: [
          {
            expr: sumRate(['errcode', 'reason'], 'tencent_live_stream_disconnects_total'),
            legend: '{{errcode}} ({{reason}})',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Push duration quantiles',
        description:
          'Length of the push sessions that ended, as median, 90th and 99th percentile (interpolated ' +
          'within histogram buckets).',
        unit: 's',
        min: 0,
        targets: [0.5, 0.9, 0.99].map((q) => ({
          expr: quantile(q, 'tencent_live_stream_push_duration_seconds'),
          legend: `p${Math.round(q * 100)}`,
        })),
      }),
    )
    .withPanel(
      heatmapPanel({
        title: 'Push duration distribution',
        description:
          'Ended push sessions per second, by length bucket of the push-duration histogram: darker cells, ' +
          'more sessions of that length.',
        unit: 's',
        targets: [
          {
            expr: sumRate(['le'], 'tencent_live_stream_push_duration_seconds_bucket'),
            legend: '{{le}}',
          },
        ],
      }),
    )
    .withRow(new dashboard.RowBuilder('Push exceptions'))
    .withPanel(
      timeseriesPanel({
        title: 'Push exceptions by kind',
        description:
          'Push exceptions per second by kind (event_type 321 abnormal type, e.g. video_timestamp_jump), ' +
          'summed over the counts Tencent reports.',
        unit: 'cps',
        stack: true,
        min: 0,
        targets: [
          { expr: sumRate(['exception'], 'tencent_live_push_exceptions_total'), legend: '{{exception}}' },
        ],
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Streams with the most push exceptions',
        description:
          'The ten streams with the most push exceptions over the selected time range: the per-second rate ' +
          'integrated over the range, so the last minute or so is still being counted. Click a stream id ' +
          'to open its dashboard.',
        unit: 'short',
        columns: ['domain', 'app_name', 'stream_id'],
        valueName: 'exceptions',
        links: { stream_id: [streamLink] },
        targets: [
          {
            expr: `topk(10, ${totalOverRange(
              ['domain', 'app_name', 'stream_id'],
              'tencent_live_push_exceptions_total',
            )})`,
            legend: '{{stream_id}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Push exception reports by push domain and path',
        description:
          'Accepted push-exception callbacks (event_type 321) per second, per push domain and app name. ' +
          'One report can carry several exceptions.',
        unit: 'cps',
        min: 0,
        targets: [
          {
            expr: sumRate(['domain', 'app_name'], 'tencent_live_push_exception_reports_total'),
            legend: '{{domain}}/{{app_name}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Sessions expired and unmatched disconnects',
        description:
          'Sessions ended by maximum age without a disconnect, and disconnects that ended no known session ' +
          '(no_session: start never seen; stale_sequence: an older session than the live one), per second.',
        unit: 'cps',
        min: 0,
        targets: [
          { expr: sumRate([], 'tencent_live_sessions_expired_total'), legend: 'expired' },
          {
            expr: sumRate(['cause'], 'tencent_live_stream_disconnects_unmatched_total'),
            legend: 'unmatched: {{cause}}',
          },
        ],
      }),
    )
    .withRow(new dashboard.RowBuilder('Callbacks'))
    .withPanel(
      timeseriesPanel({
        title: 'Callbacks by outcome',
        description:
          'Callbacks answered per second: accepted, duplicate (a Tencent retry already counted), ignored ' +
          '(authentic but of no interest) and rejected.',
        unit: 'reqps',
        stack: true,
        min: 0,
        targets: [{ expr: sumRate(['outcome'], 'tencent_live_callbacks_total'), legend: '{{outcome}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rejected callbacks by reason',
        description:
          'Callbacks refused per second, by reason: bad or missing signature, expired, malformed or invalid ' +
          'body, too large, wrong method, or state store unavailable (Tencent retries those).',
        unit: 'reqps',
        stack: true,
        min: 0,
        targets: [
          { expr: sumRate(['reason'], 'tencent_live_callbacks_rejected_total'), legend: '{{reason}}' },
        ],
      }),
    );
  return toModel(builder);
}
