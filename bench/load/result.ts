/** What one load run measured, whichever tool produced it. */
export interface LoadResult {
  /** Answers received. */
  readonly requests: number;
  readonly seconds: number;
  /** Answers per second. */
  readonly rate: number;
  /** Socket errors, timeouts and answers other than 2xx. */
  readonly errors: number;
  /** Answers by HTTP status, where the tool reports them. */
  readonly statuses: Record<string, number>;
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly p999: number;
    readonly max: number;
  };
  /** Bodies used from the list (sent, including any still in flight at the end). */
  readonly consumed: number;
  /** The paced client: its start on CLOCK_MONOTONIC (µs), as V8 CPU profiles time their samples. */
  readonly startMonotonicUs?: number;
  /** The paced client: how late it sent requests itself (included in the latencies). */
  readonly clientLagMs?: { readonly p99: number };
  /** The paced client: latency counted from the actual send, i.e. without the client's own lag. */
  readonly fromSendMs?: { readonly p99: number };
  /** The paced client: the worst latencies, by 100 ms window of due time (seconds since the start). */
  readonly slowest?: readonly { readonly atSeconds: number; readonly ms: number }[];
}
