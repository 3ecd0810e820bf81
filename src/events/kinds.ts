import type { ExporterMetrics, EventName } from '../metrics/metrics.js';
import type { CommandResult } from '../state/store.js';
import { hashKey, timedKey, type SessionCommand, type Session } from '../state/session.js';
import type { ValidationFailure } from '../validate/validate.js';

/** What an event kind's handler may use when it applies an accepted event. */
export interface ApplyContext {
  readonly metrics: ExporterMetrics;
  /** Live sessions (memory mirror of the store). */
  readonly liveSession: (key: string) => Session | undefined;
  readonly nowMs: number;
}

/**
 * One row of the event-type table: how to validate a kind, what identifies a retry of it, what it does to the
 * sessions, and which metrics it moves once the store has committed it.
 */
export interface EventKind<E> {
  readonly name: EventName;
  /** Validates and normalises the payload (in place); a failure names the field. */
  readonly validate: (payload: Record<string, unknown>) => E | ValidationFailure;
  /**
   * What stays the same across Tencent's retries of one event (never `t`/`sign`: each retry is re-signed).
   */
  readonly dedupKey: (event: E) => string;
  /**
   * A time (ms) that `dedupKey` contains, when it has one: the store's keys are then ordered by it, which makes
   * new keys cheap to write (`timedKey`). Must come from the same fields as `dedupKey`, so that a retry has it.
   */
  readonly dedupTimeMs?: (event: E) => number;
  /** The push domain the event belongs to ('' when the kind does not say). */
  readonly domain: (event: E) => string;
  /** The field holding the event's own time, and that time in ms (delay histogram, future check). */
  readonly timeField: string;
  readonly eventTimeMs: (event: E) => number | undefined;
  /**
   * True when the event's time only describes it (a recording's `end_time` feeds the delay histogram, nothing
   * else): one too far in the future is then left out, as an invalid optional number is, instead of refusing
   * the event. Where the time orders sessions or keys, such an event is refused.
   */
  readonly timeOnlyDescribes?: boolean;
  /** The session change, decided before the store commits (may read the memory mirror). */
  readonly command: (event: E, context: ApplyContext) => SessionCommand | undefined;
  /** Metric effects, after the store committed the event (never for duplicates). */
  readonly apply: (event: E, result: CommandResult & { duplicate: false }, context: ApplyContext) => void;
}

/** Erases a row's payload type for the routing table; each row keeps its own type inside. */
export function defineKind<E>(kind: EventKind<E>): EventKind<unknown> {
  return kind as unknown as EventKind<unknown>;
}

/**
 * A number in de-duplication key text, exactly as `${n}` writes it. V8 keeps every number it turns into a string
 * (and the string) in a heap-wide cache that lives in the old generation, so each new `data_time` left ~50 bytes
 * there: at 5 000 reports a second, nearly all of the old generation's growth between major collections
 * (docs/performance.md). `toFixed(0)` writes the same digits for safe integers and caches nothing; larger
 * integers it writes exactly, where a template string writes the shortest digits that read back the same.
 */
export function keyNumber(n: number): string {
  return Number.isSafeInteger(n) ? n.toFixed(0) : String(n);
}

/** The store's de-duplication key of an event (what `Command.dedupKey` holds). */
export function dedupKeyOf<E>(kind: EventKind<E>, event: E): Buffer {
  const text = kind.dedupKey(event);
  return kind.dedupTimeMs ? timedKey(kind.dedupTimeMs(event), text) : hashKey(text);
}
