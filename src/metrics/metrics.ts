import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionTable } from '../state/session-table.js';
import type { StoreName } from '../state/store.js';
import { errcodeLabels } from '../tencent/codes.js';
import { IndexedCounter, IndexedHistogram } from './indexed.js';
import { StreamSeries, type EvictionReason } from './stream-series.js';

export const EVENT_NAMES = [
  'push_start',
  'push_stop',
  'push_exception',
  'record',
  'snapshot',
  'other',
  'unknown',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];
export const OUTCOMES = ['accepted', 'duplicate', 'ignored', 'rejected'] as const;
export type Outcome = (typeof OUTCOMES)[number];
const EVENT_INDEX = new Map<string, number>(EVENT_NAMES.map((name, i) => [name, i]));
const OUTCOME_INDEX = new Map<string, number>(OUTCOMES.map((outcome, i) => [outcome, i]));
export const REJECTION_REASONS = [
  'malformed_json',
  'invalid_payload',
  'missing_signature',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'body_too_large',
  'method_not_allowed',
  'store_unavailable',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];
export const SCRAPE_FAILURES = ['too_many', 'deadline'] as const;
export type ScrapeFailure = (typeof SCRAPE_FAILURES)[number];

export interface MetricsOptions {
  readonly version: string;
  readonly sessions: SessionTable;
  readonly maxTrackedStreams: number;
  readonly seriesGraceMs: number;
  readonly seriesIdleMs: number;
  /** Distinct (domain, app_name) label pairs; callbacks of further pairs count under OVERFLOW_LABEL. */
  readonly maxApps: number;
  /** Node.js process metrics (CPU, memory, event loop); off in unit tests that compare whole scrapes. */
  readonly processMetrics?: boolean;
}

const PUSH_DURATION_BUCKETS = [10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];
const ANSWER_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const DELAY_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800];

/** The `domain` and `app_name` of callbacks whose pair came after TENCENT_LIVE_MAX_APPS others. */
export const OVERFLOW_LABEL = '_overflow';

/**
 * The (domain, app_name) label pairs the metrics use, at most `max` of them. Both labels come from the body,
 * which Tencent does not sign: a replayed (t, sign) pair could otherwise add series to seven families with every
 * body, and TENCENT_LIVE_DOMAINS does not bound the push path. A pair, once admitted, stays (its counters are
 * cumulative); later pairs are counted under OVERFLOW_LABEL for both labels.
 */
class AppLabels {
  private readonly admitted = new Set<string>();

  constructor(
    private readonly max: number,
    private readonly onOverflow: () => void,
  ) {}

  /** The pair to label a callback's metric update with. */
  of(domain: string, appName: string): readonly [string, string] {
    const key = `${domain}\u0000${appName}`;
    if (this.admitted.has(key)) return [domain, appName];
    if (this.admitted.size < this.max) {
      this.admitted.add(key);
      return [domain, appName];
    }
    this.onOverflow();
    return [OVERFLOW_LABEL, OVERFLOW_LABEL];
  }

  /**
   * Label-bound children, cached: prom-client hashes the label object on every `inc` otherwise. Only admitted
   * pairs are cached, so the cache is bounded too.
   */
  cached<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
    const children = new Map<string, T>();
    return (a, b) => {
      const key = `${a}\u0000${b}`;
      const child = children.get(key);
      if (child) return child;
      const [domain, appName] = this.of(a, b);
      const made = make(domain, appName);
      if (domain === a && appName === b) children.set(key, made);
      return made;
    };
  }
}

/**
 * Every metric of the service, defined in one place with its help and labels (PRODUCT.md's table), behind
 * methods named after what happened. Event handlers call these; nothing else touches prom-client.
 */
export class ExporterMetrics {
  readonly registry = new Registry();
  readonly streams: StreamSeries;

  private readonly starts = new Counter({
    name: 'tencent_live_stream_starts_total',
    help: 'Push-start callbacks (event_type 1), de-duplicated.',
    labelNames: ['domain', 'app_name'],
    registers: [this.registry],
  });
  private readonly disconnects = new Counter({
    name: 'tencent_live_stream_disconnects_total',
    help: 'Push-interrupted callbacks (event_type 0) by errcode and its reason class, de-duplicated.',
    labelNames: ['domain', 'app_name', 'errcode', 'reason'],
    registers: [this.registry],
  });
  private readonly unmatched = new Counter({
    name: 'tencent_live_stream_disconnects_unmatched_total',
    help: 'Disconnects that ended no session: no known start (no_session) or an older push (stale_sequence).',
    labelNames: ['domain', 'app_name', 'cause'],
    registers: [this.registry],
  });
  private readonly pushDuration = new Histogram({
    name: 'tencent_live_stream_push_duration_seconds',
    help: 'Length of ended push sessions.',
    labelNames: ['domain', 'app_name'],
    buckets: PUSH_DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly exceptionReports = new Counter({
    name: 'tencent_live_push_exception_reports_total',
    help: 'Accepted push exception callbacks (event_type 321).',
    labelNames: ['domain', 'app_name'],
    registers: [this.registry],
  });
  private readonly recordings = new Counter({
    name: 'tencent_live_recordings_total',
    help: 'Accepted recording file callbacks (event_type 100).',
    labelNames: ['domain', 'app_name'],
    registers: [this.registry],
  });
  private readonly screenshots = new Counter({
    name: 'tencent_live_screenshots_total',
    help: 'Accepted screenshot callbacks (event_type 200).',
    labelNames: ['domain', 'app_name'],
    registers: [this.registry],
  });
  private readonly callbacks = new IndexedCounter(
    'tencent_live_callbacks_total',
    'Every callback received, by event kind and outcome.',
    { event: EVENT_NAMES, outcome: OUTCOMES },
    this.registry,
  );
  private readonly rejections = new Counter({
    name: 'tencent_live_callbacks_rejected_total',
    help: 'Rejected callbacks by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly answerTime = new IndexedHistogram(
    'tencent_live_callback_duration_seconds',
    'Time to answer a callback (Tencent gives up after 5 s for push exception reports).',
    { event: EVENT_NAMES },
    ANSWER_BUCKETS,
    this.registry,
  );
  private readonly delay = new IndexedHistogram(
    'tencent_live_callback_delay_seconds',
    "Arrival time minus the event's own time: Tencent's lag, and retries of earlier events.",
    { event: EVENT_NAMES },
    DELAY_BUCKETS,
    this.registry,
  );
  private readonly evictions = new Counter({
    name: 'tencent_live_series_evictions_total',
    help: 'Per-stream series dropped (ended, idle) or refused because the tracked-streams cap was reached (overflow).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly expired = new Counter({
    name: 'tencent_live_sessions_expired_total',
    help: 'Push sessions ended because no news arrived for the maximum session age.',
    registers: [this.registry],
  });
  private readonly purged = new Counter({
    name: 'tencent_live_dedup_keys_purged_total',
    help: 'De-duplication keys the store forgot after TENCENT_LIVE_DEDUP_TTL_SECONDS (its periodic upkeep).',
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: 'tencent_live_sessions_refused_total',
    help: 'Push starts that opened no session because TENCENT_LIVE_MAX_SESSIONS sessions were live.',
    registers: [this.registry],
  });
  private readonly storeUp = new Gauge({
    name: 'tencent_live_state_store_up',
    help: '1 when the state store answers, 0 when it fails (callbacks then get 503 and Tencent retries).',
    labelNames: ['store'],
    registers: [this.registry],
  });

  private readonly scrapesFailed = new Counter({
    name: 'tencent_live_metrics_scrapes_failed_total',
    help: 'Scrapes of /metrics refused because as many as the listener serves at once were running (too_many), or cut off when not read to the end in time (deadline).',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  private readonly appOverflow = new Counter({
    name: 'tencent_live_apps_overflow_total',
    help: 'Metric updates labelled domain and app_name "_overflow": TENCENT_LIVE_MAX_APPS label pairs were known.',
    registers: [this.registry],
  });

  private readonly apps: AppLabels;
  private readonly startsOf: (domain: string, appName: string) => Counter.Internal;
  private readonly reportsOf: (domain: string, appName: string) => Counter.Internal;
  private readonly durationOf: (domain: string, appName: string) => Histogram.Internal<string>;

  constructor(options: MetricsOptions) {
    const { sessions, maxApps } = options;
    const apps = new AppLabels(maxApps, () => this.appOverflow.inc());
    this.apps = apps;
    this.startsOf = apps.cached((d, a) => this.starts.labels(d, a));
    this.reportsOf = apps.cached((d, a) => this.exceptionReports.labels(d, a));
    this.durationOf = apps.cached((d, a) => this.pushDuration.labels(d, a));
    this.streams = new StreamSeries({
      maxTracked: options.maxTrackedStreams,
      graceMs: options.seriesGraceMs,
      idleMs: options.seriesIdleMs,
      isLive: (key) => sessions.get(key) !== undefined,
      onEvict: (reason: EvictionReason, count: number) => this.evictions.inc({ reason }, count),
    });
    for (const reason of SCRAPE_FAILURES) this.scrapesFailed.inc({ reason }, 0);
    const streams = this.streams;
    new Gauge({
      name: 'tencent_live_streams_active',
      help: 'Push sessions live now, from the session state at scrape time.',
      labelNames: ['domain', 'app_name'],
      registers: [this.registry],
      collect() {
        this.reset();
        // From the session state alone, not from which pairs this process saw first: replicas that share a store
        // must report the same series. Beyond the cap, the first pairs in sorted order keep their labels.
        const counts = [...sessions.countsByApp()];
        if (counts.length > maxApps) {
          const pair = (c: (typeof counts)[number]) => `${c.domain}\u0000${c.appName}`;
          counts.sort((x, y) => (pair(x) < pair(y) ? -1 : 1));
        }
        counts.forEach(({ domain, appName, n }, i) => {
          if (i < maxApps) this.set({ domain, app_name: appName }, n);
          else this.inc({ domain: OVERFLOW_LABEL, app_name: OVERFLOW_LABEL }, n);
        });
      },
    });
    new Gauge({
      name: 'tencent_live_tracked_streams',
      help: 'Streams holding per-stream series now.',
      registers: [this.registry],
      collect() {
        this.set(streams.size);
      },
    });
    new Gauge({
      name: 'tencent_live_tracked_streams_limit',
      help: 'The configured cap on streams holding per-stream series (TENCENT_LIVE_MAX_TRACKED_STREAMS).',
      registers: [this.registry],
    }).set(options.maxTrackedStreams);
    new Gauge({
      name: 'tencent_live_build_info',
      help: 'Always 1; the version label tells which build runs.',
      labelNames: ['version'],
      registers: [this.registry],
    }).set({ version: options.version }, 1);
    // Bounded label sets start at 0, so that rate() and ratios work before the first occurrence.
    for (const reason of ['ended', 'idle', 'overflow']) this.evictions.inc({ reason }, 0);
    for (const reason of REJECTION_REASONS) this.rejections.inc({ reason }, 0);
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  streamStarted(domain: string, appName: string): void {
    this.startsOf(domain, appName).inc();
  }

  streamDisconnected(domain: string, appName: string, errcode: number): void {
    const labels = errcodeLabels(errcode);
    const [d, a] = this.apps.of(domain, appName);
    this.disconnects.labels(d, a, labels.errcode, labels.reason).inc();
  }

  pushEnded(domain: string, appName: string, seconds: number): void {
    this.durationOf(domain, appName).observe(seconds);
  }

  disconnectUnmatched(domain: string, appName: string, cause: 'no_session' | 'stale_sequence'): void {
    const [d, a] = this.apps.of(domain, appName);
    this.unmatched.labels(d, a, cause).inc();
  }

  exceptionReported(domain: string, appName: string): void {
    this.reportsOf(domain, appName).inc();
  }

  recordingReported(domain: string, appName: string): void {
    const [d, a] = this.apps.of(domain, appName);
    this.recordings.labels(d, a).inc();
  }

  screenshotReported(domain: string, appName: string): void {
    const [d, a] = this.apps.of(domain, appName);
    this.screenshots.labels(d, a).inc();
  }

  sessionRefused(): void {
    this.refused.inc();
  }

  sessionsExpired(count: number): void {
    this.expired.inc(count);
  }

  keysPurged(count: number): void {
    this.purged.inc(count);
  }

  callback(event: EventName, outcome: Outcome, seconds: number, delaySeconds?: number): void {
    const e = EVENT_INDEX.get(event)!;
    this.callbacks.inc(e * OUTCOMES.length + OUTCOME_INDEX.get(outcome)!);
    this.answerTime.observe(e, seconds);
    if (delaySeconds !== undefined) this.delay.observe(e, Math.max(0, delaySeconds));
  }

  rejected(event: EventName, reason: RejectionReason, seconds: number): void {
    this.rejections.inc({ reason });
    this.callback(event, 'rejected', seconds);
  }

  scrapeFailed(reason: ScrapeFailure): void {
    this.scrapesFailed.inc({ reason });
  }

  storeAvailable(store: StoreName, up: boolean): void {
    this.storeUp.set({ store }, up ? 1 : 0);
  }

  /** The whole exposition: prom-client's families, then the per-stream families rendered in chunks. */
  async *render(): AsyncGenerator<string> {
    yield await this.registry.metrics();
    yield* this.streams.render();
  }

  /**
   * The same as UTF-8 chunks, as the socket takes them: the per-stream families are never strings. Hand each
   * chunk to recycle() once written.
   */
  async *renderBytes(): AsyncGenerator<Buffer> {
    yield Buffer.from(await this.registry.metrics());
    yield* this.streams.renderBytes();
  }

  /** Takes back a written chunk of renderBytes() for the next chunks. */
  recycle(chunk: Buffer): void {
    this.streams.recycle(chunk);
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
