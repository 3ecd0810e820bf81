// Tencent Live / Stream: one stream (or a few) in detail, for the "why did my stream break?" question.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

import {
  UIDS,
  baseDashboard,
  labelVariable,
  sel,
  statPanel,
  sumRate,
  timeseriesPanel,
  toModel,
  totalOverRange,
  upDownMappings,
  type Json,
} from './common.js';

/** Streams that are live now or reported push exceptions: the two metrics that carry a stream_id. */
const STREAM_IDS =
  'label_values({__name__=~"tencent_live_stream_up|tencent_live_push_exceptions_total", ' +
  'job=~"$job", instance=~"$instance"}, stream_id)';

const STREAM = 'stream_id=~"$stream_id"';

export function streamDashboard(): Json {
  const streamExceptions = totalOverRange([], 'tencent_live_push_exceptions_total', STREAM);
  const allExceptions = totalOverRange([], 'tencent_live_push_exceptions_total');
  const builder = baseDashboard({
    uid: UIDS.stream,
    title: 'Tencent Live / Stream',
    description:
      'One push stream in detail: whether it is live, and the push exceptions Tencent reported for it. ' +
      'Pick the stream with the stream_id variable, or follow a link from Tencent Live / Overview.',
    variables: [labelVariable('stream_id', 'Stream', STREAM_IDS)],
  })
    .withRow(new dashboard.RowBuilder('Stream'))
    .withPanel(
      statPanel({
        title: 'Live now',
        description:
          'Selected streams live now (a push session is open). 0 when none of them is live. From the ' +
          'shared session state, so several replicas count a stream once.',
        unit: 'short',
        width: 8,
        targets: [
          {
            expr:
              `count(max by (job, domain, app_name, stream_id) (${sel('tencent_live_stream_up', STREAM)}) == 1)` +
              ' or vector(0)',
            legend: 'live',
          },
        ],
        thresholds: [
          { value: null, color: 'red' },
          { value: 1, color: 'green' },
        ],
        background: true,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Push exceptions in range',
        description:
          'Push exceptions of the selected streams over the selected time range, every kind: the per-second ' +
          'rate integrated over the range, so the last minute or so is still being counted.',
        unit: 'short',
        width: 8,
        targets: [{ expr: streamExceptions, legend: 'exceptions' }],
      }),
    )
    .withPanel(
      statPanel({
        title: 'Share of all push exceptions in range',
        description:
          'Push exceptions of the selected streams as a share of the push exceptions of every stream of the ' +
          'selected jobs, over the selected time range.',
        unit: 'percentunit',
        width: 8,
        targets: [{ expr: `(${streamExceptions}) / (${allExceptions})`, legend: 'share' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Live over time',
        description:
          'live while a push session of the stream is open, not live for a grace period after it ends; then ' +
          'the series is dropped, so a gap in the line also means the stream was not live.',
        unit: 'none',
        width: 24,
        height: 6,
        min: 0,
        max: 1,
        steps: true,
        mappings: upDownMappings('not live', 'live'),
        targets: [
          {
            expr: `max by (job, domain, app_name, stream_id) (${sel('tencent_live_stream_up', STREAM)})`,
            legend: '{{stream_id}} ({{domain}}/{{app_name}})',
          },
        ],
      }),
    )
    .withRow(new dashboard.RowBuilder('Push exceptions'))
    .withPanel(
      timeseriesPanel({
        title: 'Push exceptions by kind',
        description:
          'Push exceptions per second of the selected streams, by kind (event_type 321 abnormal type), ' +
          'summed over the counts Tencent reports.',
        unit: 'cps',
        stack: true,
        min: 0,
        targets: [
          {
            expr: sumRate(['stream_id', 'exception'], 'tencent_live_push_exceptions_total', STREAM),
            legend: '{{stream_id}}: {{exception}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Share of all push exceptions',
        description:
          'Push exceptions of each selected stream as a share of the push exceptions of every stream of the ' +
          'selected jobs, at each moment. A stream near 100 % is the one making the noise.',
        unit: 'percentunit',
        min: 0,
        targets: [
          {
            expr:
              `${sumRate(['stream_id'], 'tencent_live_push_exceptions_total', STREAM)}` +
              ` / on () group_left () ${sumRate([], 'tencent_live_push_exceptions_total')}`,
            legend: '{{stream_id}}',
          },
        ],
      }),
    );
  return toModel(builder);
}
