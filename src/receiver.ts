import type { Logger } from 'pino';
import type { Config } from './config.js';
import { dedupKeyOf, type ApplyContext, type EventKind } from './events/kinds.js';
import { EVENT_KINDS } from './events/table.js';
import type { EventName, ExporterMetrics, Outcome, RejectionReason } from './metrics/metrics.js';
import type { Clock } from './state/clock.js';
import { sessionKey, SessionRoom, type SessionResult } from './state/session.js';
import type { SessionTable } from './state/session-table.js';
import type { Command, CommandResult, StateStore } from './state/store.js';
import { normalizeTopLevel, ValidationFailure } from './validate/validate.js';
import { checkSignature, isUnsigned, signatureField, type SignaturePolicy } from './verify/verify.js';

export interface ReceiverDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly store: StateStore;
  readonly metrics: ExporterMetrics;
  readonly sessions: SessionTable;
  readonly log: Logger;
  /** Overrides COMMIT_INTERVAL_MS (tests; 0: every batch in the next turn of the event loop). */
  readonly commitIntervalMs?: number;
}

/** The answer to one callback. Tencent only looks at the status; the body helps people reading logs. */
export interface Answer {
  readonly status: number;
  readonly body: {
    readonly code: number;
    readonly reason?: string;
    readonly field?: string;
    readonly message?: string;
  };
}

/** The answer to every accepted, duplicate or ignored callback: one object, so that HTTP can pre-encode it. */
export const OK: Answer = Object.freeze({ status: 200, body: Object.freeze({ code: 0 }) });

const STATUS: Readonly<Record<RejectionReason, number>> = {
  malformed_json: 400,
  invalid_payload: 400,
  missing_signature: 401,
  bad_signature: 401,
  expired: 401,
  not_yet_valid: 401,
  body_too_large: 413,
  method_not_allowed: 405,
  store_unavailable: 503,
};

const MESSAGES: Partial<Record<RejectionReason, string>> = {
  missing_signature: 't and sign are required',
  bad_signature: 'sign does not match md5(key + t)',
  expired: 't has passed: the signature expired',
  not_yet_valid: 't is too far in the future',
  store_unavailable: 'state cannot be stored now; retry later',
};

interface Pending {
  readonly kind: EventKind<unknown>;
  readonly event: unknown;
  readonly command: Command;
  readonly done: (outcome: Outcome | 'unavailable') => void;
}

/**
 * Group commit. Under a steady load callbacks arrive one or two per turn of the event loop, and a transaction
 * of one costs several times its share of a larger one (docs/performance.md, change 23). So a batch smaller
 * than GROUP_BATCH waits until COMMIT_INTERVAL_MS after the previous commit began (Node.js timers fire at
 * millisecond resolution: up to ~2 ms), and whatever arrives meanwhile joins it. A callback that finds the
 * store idle for longer is committed in the next turn, as is a batch of GROUP_BATCH or more: at saturation
 * batches are large already, and a wait there would only leave the core idle.
 */
const COMMIT_INTERVAL_MS = 1;
export const GROUP_BATCH = 8;

/** Sessions expired per store call in the upkeep, with a turn of the event loop in between. */
const EXPIRE_CHUNK = 200;

/** Repeated log lines about rejections are limited to one per reason in this interval. */
const REJECTION_LOG_INTERVAL_MS = 10_000;

/**
 * The callback pipeline, free of HTTP: verify → validate → de-duplicate and apply to the store → metrics.
 * Accepted events are committed in batches: every callback that arrives in one turn of the event loop shares
 * one store transaction, and each is answered only after its batch committed (or 503 if it could not be).
 */
export class Receiver {
  private readonly policy: SignaturePolicy;
  private readonly domains: ReadonlySet<string> | undefined;
  private pending: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** When the last batch was taken for a commit (performance.now()). */
  private lastCommitAt = -Infinity;
  private readonly lastRejectionLog = new Map<string, number>();
  private storeHealthy = true;
  private isLoaded = false;

  constructor(private readonly deps: ReceiverDeps) {
    const { config } = deps;
    this.policy = {
      keys: config.callbackKeys,
      clockSkewSeconds: config.clockSkewSeconds,
      maxAheadSeconds: config.signatureMaxAheadSeconds,
    };
    this.domains = config.domains.length > 0 ? new Set(config.domains) : undefined;
  }

  get storeUp(): boolean {
    return this.storeHealthy;
  }

  /** True once the sessions were loaded from the store. */
  get loaded(): boolean {
    return this.isLoaded;
  }

  /** Rebuilds the live sessions and their per-stream series from the store, at start-up. */
  async load(): Promise<number> {
    const { store, sessions, metrics, clock } = this.deps;
    const loaded = await store.loadSessions();
    // Reading is not enough: a store that cannot be written (a read-only file system) must not report ready.
    await store.ping();
    const now = clock.now();
    for (const session of loaded) {
      sessions.set(session);
      metrics.streams.live(sessionKey(session), session.domain, session.appName, session.streamId, now);
    }
    this.setStoreUp(true);
    this.isLoaded = true;
    return loaded.length;
  }

  /** Handles one parsed body; `startedMs` is when the request arrived (performance.now()). */
  async handle(body: unknown, startedMs: number): Promise<Answer> {
    const { clock, config } = this.deps;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.reject('unknown', 'invalid_payload', startedMs, '(body)', 'the body must be a JSON object');
    }
    const payload = normalizeTopLevel(body as Record<string, unknown>);
    const eventType = readEventType(payload['event_type']);
    if (eventType === undefined) {
      return this.reject(
        'unknown',
        'invalid_payload',
        startedMs,
        'event_type',
        'event_type must be an integer',
      );
    }
    const kind = EVENT_KINDS.get(eventType);
    const name: EventName = kind?.name ?? 'other';
    const nowMs = clock.now();
    if (!config.allowUnsigned) {
      // Tencent sends some kinds we do not process without t/sign (relay 314, monitor 328): acknowledge them,
      // as nothing they say is applied. The operator may also accept a processed kind unsigned (the older 321
      // format carries no t/sign, seeds 000/001/003). A present but wrong signature is refused whatever the kind.
      const unsignedAllowed = kind === undefined || config.unsignedEventTypes.includes(eventType);
      if (!(unsignedAllowed && isUnsigned(payload))) {
        const problem = checkSignature(payload, this.policy, Math.floor(nowMs / 1000));
        if (problem) return this.reject(name, problem, startedMs, signatureField(payload, problem));
      }
    }
    if (!kind) return this.answer(name, 'ignored', startedMs);
    const event = kind.validate(payload);
    if (event instanceof ValidationFailure) {
      return this.reject(name, 'invalid_payload', startedMs, event.field, event.message);
    }
    let eventTimeMs = kind.eventTimeMs(event);
    // An event from the future would win every ordering comparison (a start that no later start replaces).
    if (eventTimeMs !== undefined && eventTimeMs > nowMs + config.signatureMaxAheadSeconds * 1000) {
      if (!kind.timeOnlyDescribes) {
        const message = `${kind.timeField} is more than ${config.signatureMaxAheadSeconds} s in the future`;
        return this.reject(name, 'invalid_payload', startedMs, kind.timeField, message);
      }
      eventTimeMs = undefined;
    }
    if (this.domains && !this.domains.has(kind.domain(event)) && kind.domain(event) !== '') {
      return this.answer(name, 'ignored', startedMs);
    }
    const command: Command = {
      dedupKey: dedupKeyOf(kind, event),
      session: kind.command(event, this.context(nowMs)),
    };
    const outcome = await new Promise<Outcome | 'unavailable'>((done) =>
      this.enqueue({ kind, event, command, done }),
    );
    if (outcome === 'unavailable') return this.reject(name, 'store_unavailable', startedMs);
    // A duplicate changes no metric but its own count (and the answer time every callback has).
    const delay =
      eventTimeMs === undefined || outcome !== 'accepted' ? undefined : (clock.now() - eventTimeMs) / 1000;
    return this.answer(name, outcome, startedMs, delay);
  }

  /** Counts and answers a rejection; also used by the HTTP layer for bodies it could not read. */
  reject(
    event: EventName,
    reason: RejectionReason,
    startedMs: number,
    field?: string,
    message?: string,
  ): Answer {
    this.deps.metrics.rejected(event, reason, (performance.now() - startedMs) / 1000);
    this.logRejection(event, reason, field, message);
    const text = message ?? MESSAGES[reason];
    const status = STATUS[reason];
    return {
      status,
      body: {
        code: status,
        reason,
        ...(field === undefined ? {} : { field }),
        ...(text === undefined ? {} : { message: text }),
      },
    };
  }

  /**
   * Periodic upkeep: expire idle sessions, drop stale per-stream series, forget expired keys, probe the store;
   * in memory, forget the entries of streams that ended a while ago.
   */
  async sweep(): Promise<void> {
    const { store, sessions, metrics, clock, config, log } = this.deps;
    const now = clock.now();
    const cutoff = now - config.sessionMaxAgeSeconds * 1000;
    sessions.forgetEnded();
    try {
      let expiredCount = 0;
      const idle = sessions.idleKeys(cutoff);
      for (;;) {
        // In chunks, each taken in (sessions and series dropped) before the event loop gets a turn: a start
        // arriving in between must not be dropped with an expired session of the same stream.
        const keys = take(idle, EXPIRE_CHUNK);
        if (keys.length === 0) break;
        const expired = await store.expireSessions(keys, cutoff);
        for (const session of expired) {
          const key = sessionKey(session);
          sessions.delete(key);
          metrics.streams.ended(key, now);
        }
        expiredCount += expired.length;
        if (keys.length < EXPIRE_CHUNK) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (expiredCount > 0) metrics.sessionsExpired(expiredCount);
      metrics.streams.sweep(now);
      metrics.streams.readmit(sessions.values(), sessionKey, now);
      metrics.keysPurged(await store.purgeExpiredKeys(now, config.dedupTtlSeconds * 1000));
      await store.ping();
      this.setStoreUp(true);
    } catch (error) {
      this.setStoreUp(false);
      log.error({ err: error }, 'state store upkeep failed');
    }
  }

  /** Resolves once every callback accepted so far has been committed and answered. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.flushing;
  }

  private context(nowMs: number): ApplyContext {
    return { metrics: this.deps.metrics, liveSession: (key) => this.deps.sessions.get(key), nowMs };
  }

  private enqueue(item: Pending): void {
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.startFlush);
  }

  private readonly startFlush = (): void => {
    if (this.pending.length < GROUP_BATCH) {
      const wait = this.lastCommitAt + (this.deps.commitIntervalMs ?? COMMIT_INTERVAL_MS) - performance.now();
      if (wait > 0) {
        setTimeout(this.flushNow, wait);
        return;
      }
    }
    this.flushNow();
  };

  private readonly flushNow = (): void => {
    this.scheduled = false;
    this.lastCommitAt = performance.now();
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing
      .then(() => this.flush(batch))
      .catch((error: unknown) => {
        // flush answers every item itself; this only keeps one unexpected throw from wedging the chain.
        this.deps.log.error({ err: error }, 'flushing a batch failed');
        for (const item of batch) item.done('unavailable');
      });
  };

  private async flush(batch: readonly Pending[]): Promise<void> {
    const { store, clock, config, log } = this.deps;
    const now = clock.now();
    let results: CommandResult[];
    try {
      results = await store.apply(
        batch.map((item) => item.command),
        now,
        config.dedupTtlSeconds * 1000,
        new SessionRoom(this.deps.sessions.size, config.maxSessions),
      );
      this.setStoreUp(true);
    } catch (error) {
      this.setStoreUp(false);
      log.error(
        { err: error, batch: batch.length },
        'state store write failed: answering 503, Tencent will retry',
      );
      for (const item of batch) item.done('unavailable');
      return;
    }
    const context = this.context(now);
    batch.forEach((item, i) => {
      const result = results[i]!;
      if (result.duplicate) return item.done('duplicate');
      try {
        if (result.session) this.mirror(result.session, now);
        item.kind.apply(item.event, result, context);
      } catch (error) {
        // Committed already: the event is not lost, only (some of) its metric effects.
        log.error({ err: error, event: item.kind.name }, 'applying an accepted event failed');
      }
      item.done('accepted');
    });
  }

  /** Keeps the memory mirror of the sessions, and the per-stream series, in step with the store. */
  private mirror(change: SessionResult, now: number): void {
    const { sessions, metrics } = this.deps;
    if (change.op === 'start') {
      if (change.result === 'refused') {
        // Counted, but no session opened: a replayed signature must not grow memory without bound.
        metrics.sessionRefused();
        return;
      }
      if (change.result === 'stale' || change.result === 'already_ended') return;
      const session = change.session;
      sessions.set(session);
      metrics.streams.live(sessionKey(session), session.domain, session.appName, session.streamId, now);
    } else if (change.op === 'touch' && change.result === 'touched') {
      sessions.set(change.session);
    } else if (change.op === 'stop' && change.result === 'closed' && change.ended) {
      const key = sessionKey(change.ended);
      sessions.delete(key);
      metrics.streams.ended(key, now);
    }
  }

  private answer(event: EventName, outcome: Outcome, startedMs: number, delaySeconds?: number): Answer {
    this.deps.metrics.callback(event, outcome, (performance.now() - startedMs) / 1000, delaySeconds);
    return OK;
  }

  private setStoreUp(up: boolean): void {
    this.storeHealthy = up;
    this.deps.metrics.storeAvailable(this.deps.store.name, up);
  }

  private logRejection(event: EventName, reason: RejectionReason, field?: string, message?: string): void {
    const now = this.deps.clock.now();
    const last = this.lastRejectionLog.get(reason);
    if (last !== undefined && now - last < REJECTION_LOG_INTERVAL_MS && now >= last) return;
    this.lastRejectionLog.set(reason, now);
    // Never the body: it holds `sign` (PROTOCOL.md §2).
    this.deps.log.warn(
      { event, reason, field, message },
      'callback rejected (further ones for this reason muted for 10 s)',
    );
  }
}

/** Up to `n` more items of `items`. */
function take<T>(items: Iterator<T>, n: number): T[] {
  const taken: T[] = [];
  while (taken.length < n) {
    const next = items.next();
    if (next.done) break;
    taken.push(next.value);
  }
  return taken;
}

/** `event_type` as an integer, also when sent as a numeric string. */
function readEventType(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*-?\d{1,9}\s*$/.test(value)) return Number(value);
  return undefined;
}
