import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { EVENT_KINDS } from '../../src/events/table.js';
import { dedupKeyOf, type ApplyContext } from '../../src/events/kinds.js';
import { hashKey, timedKey } from '../../src/state/session.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { Command } from '../../src/state/store.js';
import { TrafficGenerator } from '../../src/traffic/generator.js';
import { pushException, pushStart, sequenceFor } from '../../src/traffic/payloads.js';
import { normalizeTopLevel, ValidationFailure } from '../../src/validate/validate.js';
import { signPayload } from '../../src/verify/sign.js';

/**
 * The callbacks the bench sends, all correctly signed with the bench key and pre-generated, so that the load
 * tools only replay them: signing and serialising never compete with the service for CPU during a run.
 */

export const BENCH_KEY = 'bench-callback-key';
/** `t` = generation time + this. The whole run takes minutes; the service accepts t up to now + 3600. */
export const VALIDITY_SECONDS = 1800;

const DOMAINS = ['live-a.example.com', 'live-b.example.com', 'live-c.example.com'];
const APPS = ['live', 'game'];
/** Exception kinds a tracked stream reports in the scrape scenario: the frame gaps that dominate real
 * reports, plus one more per stream, so that every stream holds 3 `push_exceptions_total` series. */
const THIRD_KIND = [1, 3, 15];

/**
 * The pace of the scenario's own clock: callbacks per second of event time. Tencent stamps each event when it
 * happens (`data_time`, `event_time`) and sends it at once, so event times advance with the arrival rate; the
 * bench replays the bodies at 4 000–10 000 req/s, and this keeps their times about as far apart as at arrival.
 */
const SCENARIO_RATE = 8000;

/** Bodies written per `writeSync`: a file of any size, never one string holding it all. */
const WRITE_CHUNK = 10_000;

/**
 * The realistic mix (TrafficGenerator's default: ≈ 70 % 321 reports, 25 % starts/stops, 5 % retries) as one
 * stream of callbacks that files are cut from in turn: each `write` goes on where the previous one stopped, so
 * a later phase continues the same streams and sessions instead of repeating bodies the service has seen.
 */
export class Scenario {
  private readonly generator: TrafficGenerator;

  constructor(streams: number, seed = 1) {
    const startMs = Date.now();
    let generated = 0;
    const now = () => startMs + (generated++ * 1000) / SCENARIO_RATE;
    this.generator = new TrafficGenerator({
      key: BENCH_KEY,
      seed,
      streams,
      validitySeconds: VALIDITY_SECONDS,
      now,
    });
  }

  /** Writes the next `count` bodies to `file`, one per line. */
  write(file: string, count: number): void {
    const fd = openSync(file, 'w');
    try {
      for (let written = 0; written < count; written += WRITE_CHUNK) {
        const lines = Array.from(
          { length: Math.min(WRITE_CHUNK, count - written) },
          () => this.generator.next().body,
        );
        writeSync(fd, `${lines.join('\n')}\n`);
      }
    } finally {
      closeSync(fd);
    }
  }
}

interface BenchStream {
  domain: string;
  appName: string;
  streamId: string;
  sequence: string;
}

/** Stream i of the scrape scenario; its identity is shared by the seeded session and its reports. */
export function benchStream(i: number): BenchStream {
  return {
    domain: DOMAINS[i % DOMAINS.length]!,
    appName: APPS[Math.floor(i / DOMAINS.length) % APPS.length]!,
    streamId: `bench-stream-${String(i).padStart(6, '0')}`,
    sequence: sequenceFor(`bench:${i}`),
  };
}

/**
 * `total` 321 reports with 3 exception kinds each, over streams 0…streams-1 in turn. Each pass over the streams
 * moves `data_time` on by a report interval (from `firstRound`), so that every report is new to the
 * de-duplication, as Tencent's reports every 5 s are.
 */
export function writeExceptionReports(file: string, total: number, streams: number, firstRound = 0): void {
  const nowMs = Date.now();
  const lines: string[] = [];
  for (let j = 0; j < total; j++) {
    const i = j % streams;
    const round = firstRound + Math.floor(j / streams);
    const payload = pushException({
      ...benchStream(i),
      // Every stream reports every 5 s, each at its own phase within the interval (Tencent's report_interval).
      dataTimeMs: nowMs - 600_000 + round * 5000 + Math.floor((i * 5000) / streams),
      exceptions: [
        { type: 6, count: 1 + (i % 5) },
        { type: 7, count: 1 + (i % 3) },
        { type: THIRD_KIND[i % THIRD_KIND.length]!, count: 1 },
      ],
      maxDetails: 1,
    });
    lines.push(JSON.stringify(signPayload(payload, BENCH_KEY, nowMs / 1000, VALIDITY_SECONDS)));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * Puts `count` live push sessions into a SQLite store, as the service itself would have stored their push-start
 * callbacks: the same event-kind code validates each start and derives its de-duplication key and session
 * change, and the same store applies them in batches. Only HTTP and signatures are skipped.
 */
export async function seedSessions(path: string, count: number): Promise<void> {
  const kind = EVENT_KINDS.get(1)!;
  const nowMs = Date.now();
  const context = { nowMs, liveSession: () => undefined } as unknown as ApplyContext;
  const store = new SqliteStore(path);
  try {
    const batch = 5000;
    for (let from = 0; from < count; from += batch) {
      const commands: Command[] = [];
      for (let i = from; i < Math.min(count, from + batch); i++) {
        const payload = normalizeTopLevel({
          ...pushStart({ ...benchStream(i), eventTime: Math.floor(nowMs / 1000) - 60 }),
        });
        const event = kind.validate(payload);
        if (event instanceof ValidationFailure) throw new Error(`seed start invalid: ${event.message}`);
        commands.push({ dedupKey: dedupKeyOf(kind, event), session: kind.command(event, context) });
      }
      await store.apply(commands, nowMs, 1800 * 1000);
    }
  } finally {
    await store.close();
  }
}

/**
 * Puts de-duplication keys into a SQLite store that expire from now on, `perSecond` of them in each of the next
 * `seconds`, as the store of a service that has been claiming `perSecond` keys a second for longer than their
 * TTL holds them: the service's upkeep then forgets as many every 10 s as it would in production. (A fresh
 * store purges nothing during a run shorter than the TTL.) Three in four are time-ordered like a 321 report's
 * key, one in four hashed like a start's or a stop's; each second's keys are claimed in one batch.
 */
export async function seedExpiringKeys(path: string, perSecond: number, seconds: number): Promise<void> {
  const ttlMs = 1800 * 1000;
  const startMs = Date.now();
  const store = new SqliteStore(path);
  try {
    for (let second = 0; second < seconds; second++) {
      const claimedAt = startMs + second * 1000 - ttlMs;
      const commands: Command[] = [];
      for (let i = 0; i < perSecond; i++) {
        const text = `bench-seed\u0000${second}\u0000${i}`;
        commands.push({
          dedupKey: i % 4 === 3 ? hashKey(text) : timedKey(claimedAt + (i * 1000) / perSecond, text),
        });
      }
      await store.apply(commands, claimedAt, ttlMs);
    }
  } finally {
    await store.close();
  }
}
