// Tencent Live / Receiver: the exporter itself, for the people who operate it.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

import {
  UIDS,
  baseDashboard,
  quantile,
  sel,
  statPanel,
  sumRate,
  timeseriesPanel,
  toModel,
  upDownMappings,
  type Json,
} from './common.js';

const QUANTILES = [0.5, 0.9, 0.99] as const;

function quantileTargets(histogram: string): { expr: string; legend: string }[] {
  return QUANTILES.map((q) => ({ expr: quantile(q, histogram), legend: `p${Math.round(q * 100)}` }));
}

export function receiverDashboard(): Json {
  const builder = baseDashboard({
    uid: UIDS.receiver,
    title: 'Tencent Live / Receiver',
    description:
      'The tencent-live-exporter itself: callback traffic and answers, answer time and delivery delay, ' +
      'duplicates and rejections, the state store, per-stream series, and each process.',
  })
    .withRow(new dashboard.RowBuilder('Callbacks'))
    .withPanel(
      statPanel({
        title: 'Callbacks',
        description: 'Callbacks answered per second, every event and outcome, over every replica.',
        unit: 'reqps',
        targets: [{ expr: sumRate([], 'tencent_live_callbacks_total'), legend: 'callbacks' }],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Rejected share',
        description:
          'Share of callbacks rejected (4xx/5xx answers). A rise after a key rotation usually means a ' +
          'missing key in TENCENT_LIVE_CALLBACK_KEYS.',
        unit: 'percentunit',
        targets: [
          {
            expr:
              `(${sumRate([], 'tencent_live_callbacks_total', 'outcome="rejected"')} or vector(0))` +
              ` / ${sumRate([], 'tencent_live_callbacks_total')}`,
            legend: 'rejected',
          },
        ],
        thresholds: [
          { value: null, color: 'green' },
          { value: 0.01, color: 'orange' },
          { value: 0.1, color: 'red' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Answer time p99',
        description: '99th percentile of the time to answer a callback. Tencent gives up after 5 s.',
        unit: 's',
        targets: [{ expr: quantile(0.99, 'tencent_live_callback_duration_seconds'), legend: 'p99' }],
        thresholds: [
          { value: null, color: 'green' },
          { value: 1, color: 'orange' },
          { value: 3, color: 'red' },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Duplicates',
        description:
          'Callbacks per second that repeated one already counted (Tencent retries an event up to 12 times ' +
          'when an answer is slow or lost); they are answered 200 and counted once.',
        unit: 'reqps',
        targets: [
          {
            expr: `${sumRate([], 'tencent_live_callbacks_total', 'outcome="duplicate"')} or vector(0)`,
            legend: 'duplicates',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Callbacks by event and outcome',
        description:
          'Callbacks answered per second, by event (push_start, push_stop, push_exception, record, ' +
          'snapshot, other, unknown) and outcome (accepted, duplicate, ignored, rejected).',
        unit: 'reqps',
        stack: true,
        min: 0,
        targets: [
          {
            expr: sumRate(['event', 'outcome'], 'tencent_live_callbacks_total'),
            legend: '{{event}} {{outcome}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rejections by reason',
        description:
          'Callbacks refused per second, by reason. store_unavailable is answered 503 and retried by ' +
          'Tencent; signature reasons (missing_signature, bad_signature, expired, not_yet_valid) mean a key ' +
          'or clock problem.',
        unit: 'reqps',
        stack: true,
        min: 0,
        targets: [
          { expr: sumRate(['reason'], 'tencent_live_callbacks_rejected_total'), legend: '{{reason}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Answer time quantiles',
        description:
          'Time to answer a callback, over every replica and event: median, 90th and 99th percentile. ' +
          'Tencent treats an answer after 5 s as failed and retries.',
        unit: 's',
        min: 0,
        targets: quantileTargets('tencent_live_callback_duration_seconds'),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Answer time p99 by event',
        description: '99th percentile of the time to answer a callback, per event kind.',
        unit: 's',
        min: 0,
        targets: [
          { expr: quantile(0.99, 'tencent_live_callback_duration_seconds', ['event']), legend: '{{event}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Delivery delay quantiles',
        description:
          'Arrival time minus the time of the event itself: median, 90th and 99th percentile. Minutes mean ' +
          'Tencent is retrying (up to ~13 min) or clocks disagree.',
        unit: 's',
        min: 0,
        targets: quantileTargets('tencent_live_callback_delay_seconds'),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Duplicates by event',
        description:
          'Repeated callbacks per second, per event kind: Tencent retries, recognised and counted once.',
        unit: 'reqps',
        min: 0,
        targets: [
          {
            expr: sumRate(['event'], 'tencent_live_callbacks_total', 'outcome="duplicate"'),
            legend: '{{event}}',
          },
        ],
      }),
    )
    .withRow(new dashboard.RowBuilder('State and per-stream series'))
    .withPanel(
      statPanel({
        title: 'State store',
        description:
          'Whether each replica can reach its state store (sqlite file or Redis). While it is down, ' +
          'callbacks are answered 503 and Tencent retries them.',
        unit: 'none',
        width: 8,
        height: 8,
        background: true,
        mappings: upDownMappings('down', 'up'),
        thresholds: [
          { value: null, color: 'red' },
          { value: 1, color: 'green' },
        ],
        targets: [
          {
            expr: `min by (job, instance, store) (${sel('tencent_live_state_store_up')})`,
            legend: '{{instance}} {{store}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tracked streams and limit',
        description:
          'Streams holding per-stream series in each process, and the configured cap. At the cap, new ' +
          'streams fold into the overflow signal (evictions, reason overflow).',
        unit: 'short',
        width: 8,
        min: 0,
        targets: [
          {
            expr: `max by (job, instance) (${sel('tencent_live_tracked_streams')})`,
            legend: '{{instance}} tracked',
          },
          {
            expr: `max by (job, instance) (${sel('tencent_live_tracked_streams_limit')})`,
            legend: '{{instance}} limit',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Per-stream series evictions',
        description:
          'Per-stream series dropped per second: ended (the stream stopped, after a grace period), idle ' +
          '(no news for too long) and overflow (the tracked-streams cap was reached).',
        unit: 'cps',
        width: 8,
        stack: true,
        min: 0,
        targets: [{ expr: sumRate(['reason'], 'tencent_live_series_evictions_total'), legend: '{{reason}}' }],
      }),
    )
    .withRow(new dashboard.RowBuilder('Processes'))
    .withPanel(
      timeseriesPanel({
        title: 'CPU',
        description: 'CPU time used per second by each process (1 = 100 % of one core).',
        unit: 'percentunit',
        width: 8,
        min: 0,
        targets: [
          { expr: sumRate(['job', 'instance'], 'process_cpu_seconds_total'), legend: '{{instance}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Resident memory',
        description: 'Resident set size of each process.',
        unit: 'bytes',
        width: 8,
        min: 0,
        targets: [
          {
            expr: `max by (job, instance) (${sel('process_resident_memory_bytes')})`,
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Event-loop lag p99',
        description:
          '99th percentile of the Node.js event-loop delay in each process: high values delay every ' +
          'callback answer.',
        unit: 's',
        width: 8,
        min: 0,
        targets: [
          {
            expr: `max by (job, instance) (${sel('nodejs_eventloop_lag_p99_seconds')})`,
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Versions',
        description: 'Processes running each version of tencent-live-exporter.',
        unit: 'short',
        width: 24,
        targets: [{ expr: `count by (version) (${sel('tencent_live_build_info')})`, legend: '{{version}}' }],
      }),
    );
  return toModel(builder);
}
