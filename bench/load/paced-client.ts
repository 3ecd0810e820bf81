import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { LoadResult } from './result.js';

/**
 * A small HTTP/1.1 load client for the bench, run as its own process on the load core. Two modes:
 * * paced (`rate` > 0): an open loop. Request i is due at start + i / rate whatever happened before, and its
 *   latency is measured from that due time, so a stalled server cannot hide its stall by slowing the client
 *   down (no coordinated omission). A due request waits for a free connection and that wait counts.
 * * closed loop (`rate` = 0): every connection sends its next body as soon as the previous answer arrived; used
 *   to seed state as fast as the service takes it.
 * Bodies come from a file, one JSON body per line, each sent once in order from `offset`. Latencies are taken
 * with performance.now() (sub-millisecond); the result is one JSON line on stdout.
 *
 * Paced, the client polls its event loop (`setImmediate`) instead of sleeping on a timer, and so keeps its own
 * core busy: Node.js timers fire at millisecond resolution, so a timer-driven client sent ~5 requests at once
 * every 1–2 ms and charged up to ~2 ms of its own lateness to the server (docs/performance.md, "A faster
 * machine"). Polling, each request leaves within microseconds of its due time, evenly spaced as
 * callbacks from many independent senders arrive.
 */
export interface PacedOptions {
  readonly url: string;
  readonly bodiesFile: string;
  readonly offset: number;
  /** Requests per second; 0 for a closed loop. */
  readonly rate: number;
  readonly connections: number;
  /** Stop sending after this many requests… */
  readonly count?: number;
  /** …or after this long. */
  readonly durationMs?: number;
  /**
   * Requests due in this first stretch are sent but not measured: the client's own start (cold code, fresh
   * connections) would otherwise show up as the server's latency.
   */
  readonly warmupMs?: number;
  readonly timeoutMs?: number;
}

interface Connection {
  socket: Socket;
  busy: boolean;
  /** When the request in flight was due (paced) or sent (closed loop). */
  dueAt: number;
  sentAt: number;
  pending: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/**
 * The file's lines as Buffers (empty lines skipped), without decoding the file into one string: a file of
 * bodies for a fast machine's steady rate is larger than the longest string V8 allows (~512 MiB).
 */
function readLines(file: string): Buffer[] {
  const data = readFileSync(file);
  const lines: Buffer[] = [];
  for (let start = 0; start < data.length;) {
    let end = data.indexOf(10, start);
    if (end < 0) end = data.length;
    if (end > start) lines.push(data.subarray(start, end));
    start = end + 1;
  }
  return lines;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runPacedLoad(options: PacedOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const bodies = readLines(options.bodiesFile);
  const total = options.count ?? Infinity;
  const durationMs = options.durationMs ?? Infinity;
  if (total === Infinity && durationMs === Infinity) throw new Error('give count or durationMs');
  const expected = Math.min(total, options.rate > 0 ? Math.ceil((options.rate * durationMs) / 1000) : total);
  const latencies = new Float64Array(Number.isFinite(expected) ? expected + 16 : 1 << 20);
  /** How late the client itself sent each request: if this grows, the client, not the server, lagged. */
  const sendLags = new Float64Array(latencies.length);
  /** Latency from the moment the request was actually written: the server's part, without the client's lag. */
  const fromSend = new Float64Array(latencies.length);
  const statuses: Record<string, number> = {};
  let socketErrors = 0;
  /** Answers to requests due after the warm-up: the ones measured. */
  let measuredCount = 0;
  let sent = 0;
  let inFlight = 0;
  const queue: number[] = [];
  const head = `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n`;

  const warmupMs = options.warmupMs ?? 0;
  // Set once every connection is open: connecting is not the server's latency.
  let start = 0;
  let deadline = Infinity;
  const exhausted = () => sent >= total || performance.now() >= deadline;
  /** Paced: every due request has been queued. Closed loop: no more requests will be sent. */
  let scheduledAll = false;
  const idle = () => inFlight === 0 && queue.length === 0 && (scheduledAll || exhausted());
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  // Requests are encoded before the clock starts: the client's own work must not delay what it measures.
  const encode = (index: number) => {
    const body = bodies[(options.offset + index) % bodies.length]!;
    return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`), body]);
  };
  const requests = Array.from({ length: Math.min(expected, bodies.length) }, (_, i) => encode(i));
  const send = (conn: Connection, dueAt: number) => {
    const request = requests[sent] ?? encode(sent);
    sent++;
    inFlight++;
    conn.busy = true;
    conn.dueAt = dueAt;
    conn.sentAt = performance.now();
    conn.socket.write(request);
  };

  const next = (conn: Connection) => {
    if (options.rate > 0) {
      const dueAt = queue.shift();
      if (dueAt !== undefined) return send(conn, dueAt);
    } else if (!exhausted()) {
      return send(conn, performance.now());
    }
    if (idle() && (options.rate === 0 || scheduledAll)) finish();
  };

  /** Worst latency per 100 ms of due time, to tell one long stall from a steady tail. */
  const worstByWindow = new Map<number, number>();
  const complete = (conn: Connection, status: number) => {
    const now = performance.now();
    const latency = now - conn.dueAt;
    if (conn.dueAt - start >= warmupMs) {
      if (measuredCount < latencies.length) {
        latencies[measuredCount] = latency;
        sendLags[measuredCount] = conn.sentAt - conn.dueAt;
        fromSend[measuredCount] = now - conn.sentAt;
      }
      measuredCount++;
      const window = Math.floor((conn.dueAt - start) / 100);
      if (latency > (worstByWindow.get(window) ?? 0)) worstByWindow.set(window, latency);
    }
    inFlight--;
    conn.busy = false;
    statuses[status] = (statuses[status] ?? 0) + 1;
    next(conn);
  };

  const onData = (conn: Connection, chunk: Buffer) => {
    conn.pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
    for (;;) {
      const end = conn.pending.indexOf(HEADER_END);
      if (end < 0) return;
      const header = conn.pending.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(header)?.[1] ?? 0);
      if (conn.pending.length < end + 4 + length) return;
      conn.pending = conn.pending.subarray(end + 4 + length);
      complete(conn, Number(header.slice(9, 12)));
    }
  };

  const open = (): Promise<Connection> =>
    new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      const conn: Connection = { socket, busy: false, dueAt: 0, sentAt: 0, pending: Buffer.alloc(0) };
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(conn));
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => onData(conn, chunk));
      socket.on('close', () => {
        if (conn.busy) {
          socketErrors++;
          inFlight--;
          conn.busy = false;
        }
        const index = connections.indexOf(conn);
        if (index >= 0) connections.splice(index, 1);
        if (!exhausted()) void open().then((fresh) => (connections.push(fresh), next(fresh)));
        else if (idle()) finish();
      });
    });

  const connections: Connection[] = [];
  for (let i = 0; i < options.connections; i++) connections.push(await open());
  start = performance.now();
  const startMonotonicUs = Number(process.hrtime.bigint() / 1000n);
  deadline = start + durationMs;
  for (const conn of connections) conn.socket.on('error', () => undefined);

  if (options.rate > 0) {
    const interval = 1000 / options.rate;
    let scheduled = 0;
    let cursor = 0;
    const pump = () => {
      const now = performance.now();
      while (scheduled < total && start + scheduled * interval <= Math.min(now, deadline)) {
        queue.push(start + scheduled * interval);
        scheduled++;
      }
      // Start at a different connection each time: taking the first free one in a fixed order left the last
      // connections idle for seconds at moderate rates, until the server closed them as idle (Node.js's 5 s
      // keep-alive timeout), and a request written in that instant failed as a socket error.
      for (let i = 0; i < connections.length && queue.length > 0; i++) {
        const conn = connections[(cursor + i) % connections.length]!;
        if (!conn.busy) next(conn);
      }
      cursor = (cursor + 1) % Math.max(1, connections.length);
      const due = start + scheduled * interval;
      if (scheduled < total && due < deadline) {
        // Polled, not timed (see the top of this file): the next request leaves as soon as it is due.
        setImmediate(pump);
      } else {
        scheduledAll = true;
        if (idle()) finish();
      }
    };
    pump();
  } else {
    for (const conn of connections) next(conn);
  }

  // A server that stops answering must not hang the bench: give up this long after the last due request.
  const limit = Number.isFinite(durationMs) ? durationMs + (options.timeoutMs ?? 10_000) : 600_000;
  const timeout = setTimeout(() => finish(), limit);
  await done;
  clearTimeout(timeout);
  const seconds = (performance.now() - start - Math.min(warmupMs, durationMs)) / 1000;
  for (const conn of connections) conn.socket.destroy();
  const measured = latencies.subarray(0, Math.min(measuredCount, latencies.length)).sort();
  const non2xx = Object.entries(statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    requests: measuredCount,
    seconds,
    rate: measuredCount / seconds,
    // Unanswered requests (still in flight at the time limit) count as errors.
    errors: socketErrors + non2xx + inFlight,
    statuses,
    latencyMs: {
      p50: percentile(measured, 50),
      p99: percentile(measured, 99),
      p999: percentile(measured, 99.9),
      max: measured.length ? measured[measured.length - 1]! : 0,
    },
    consumed: sent,
    startMonotonicUs,
    fromSendMs: {
      p99: percentile(fromSend.subarray(0, Math.min(measuredCount, fromSend.length)).sort(), 99),
    },
    clientLagMs: {
      p99: percentile(sendLags.subarray(0, Math.min(measuredCount, sendLags.length)).sort(), 99),
    },
    slowest: [...worstByWindow]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(process.env.BENCH_SLOWEST ?? 5))
      .map(([window, ms]) => ({ atSeconds: window / 10, ms: Math.round(ms * 10) / 10 })),
  };
}

// Run as a process: options as JSON in BENCH_LOAD, the result as one JSON line.
if (process.env['BENCH_LOAD']) {
  runPacedLoad(JSON.parse(process.env['BENCH_LOAD']) as PacedOptions).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
