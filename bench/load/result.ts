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
}
