import { get } from 'node:http';

export interface ScrapeResult {
  /** From sending the request to the last byte of the answer: what Prometheus records as scrape duration. */
  readonly ms: number;
  readonly bytes: number;
  readonly status: number;
  /** `nodejs_eventloop_lag_max_seconds`: the longest event-loop delay since the previous scrape. */
  readonly eventLoopLagMaxSeconds?: number;
  readonly trackedStreams?: number;
  /** `tencent_live_dedup_keys_purged_total`. */
  readonly keysPurged?: number;
  /** Lines of `tencent_live_push_exceptions_total` (counted only when asked: it costs the harness CPU). */
  readonly exceptionSeries?: number;
  readonly upSeries?: number;
}

const EXCEPTION_LINE = Buffer.from('\ntencent_live_push_exceptions_total{');
const UP_LINE = Buffer.from('\ntencent_live_stream_up{');

/** Occurrences of `needle` in `buffer` that end after `skip` bytes (those before were counted already). */
function count(buffer: Buffer, needle: Buffer, skip: number): number {
  let n = 0;
  for (let at = buffer.indexOf(needle); at >= 0; at = buffer.indexOf(needle, at + needle.length)) {
    if (at + needle.length > skip) n++;
  }
  return n;
}

function gauge(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

/** GETs /metrics, streaming the answer; reads a few gauges from its head (prom-client's part comes first). */
export function scrape(url: string, countSeries = false): Promise<ScrapeResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let bytes = 0;
      let head = '';
      let series = 0;
      let up = 0;
      let carry = Buffer.alloc(0);
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (head.length < 256 * 1024) head += chunk.toString('utf8', 0, Math.min(chunk.length, 256 * 1024));
        if (countSeries) {
          // Keep the tail of the previous chunk so a line split across chunks is still seen once.
          const joined = Buffer.concat([carry, chunk]);
          series += count(joined, EXCEPTION_LINE, carry.length);
          up += count(joined, UP_LINE, carry.length);
          carry = Buffer.from(joined.subarray(Math.max(0, joined.length - EXCEPTION_LINE.length + 1)));
        }
      });
      response.on('end', () =>
        resolve({
          ms: performance.now() - started,
          bytes,
          status: response.statusCode ?? 0,
          eventLoopLagMaxSeconds: gauge(head, 'nodejs_eventloop_lag_max_seconds'),
          trackedStreams: gauge(head, 'tencent_live_tracked_streams'),
          keysPurged: gauge(head, 'tencent_live_dedup_keys_purged_total'),
          ...(countSeries ? { exceptionSeries: series, upSeries: up } : {}),
        }),
      );
      response.on('error', reject);
    }).on('error', reject);
  });
}
