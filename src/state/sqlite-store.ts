import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import {
  applySession,
  SessionRoom,
  TIMED_KEY_BYTES,
  timePrefix,
  type Session,
  type SessionRecords,
} from './session.js';
import type { Command, CommandResult, StateStore } from './store.js';

interface SessionRow {
  k: string;
  domain: string;
  app_name: string;
  stream_id: string;
  sequence: string;
  started_at: number;
  last_seen_at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  k TEXT PRIMARY KEY,
  domain TEXT NOT NULL,
  app_name TEXT NOT NULL,
  stream_id TEXT NOT NULL,
  sequence TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS seen_keys (
  k BLOB PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
DROP INDEX IF EXISTS seen_keys_expires_at;
DROP INDEX IF EXISTS sessions_last_seen_at;
CREATE TABLE IF NOT EXISTS ended_pushes (
  k BLOB PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ended_pushes_expires_at ON ended_pushes (expires_at);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
`;

/** Sorts before every key (keys are never empty). */
const NO_KEY: Buffer = Buffer.alloc(0);

const toSession = (row: SessionRow): Session => ({
  domain: row.domain,
  appName: row.app_name,
  streamId: row.stream_id,
  sequence: row.sequence,
  startedAt: row.started_at,
  lastSeenAt: row.last_seen_at,
});

/**
 * Keys are purged by walking `seen_keys` in key order, this many rows per statement (each its own short
 * transaction, ~1 ms), with a turn of the event loop between two statements.
 */
const PURGE_SCAN_CHUNK = 1000;
/**
 * Each of the purge's two walks covers at least this many rows, and at least PURGE_SCAN_FACTOR rows per key of its
 * kind (timed or hashed) claimed since the last purge.
 */
const PURGE_MIN_SCAN = 20_000;
/**
 * Walking 4 rows per new hashed key, each pass over the hashed keys takes about a third of their lifetime, so an
 * expired one stays at most that much longer, and the table holds at most ~4/3 of the live ones.
 */
const PURGE_SCAN_FACTOR = 4;
/**
 * The walk over plain hashes skips the timed keys of events from the TTL ago to this far ahead of the clock
 * (events further ahead are refused): they are live, or will be purged with the old ones.
 */
const TIMED_AHEAD_MS = 86_400_000;

/** How often the checkpointer copies committed WAL frames into the database file. */
const CHECKPOINT_EVERY_MS = 250;
/** WAL size beyond which the WAL is made to start over. */
const WAL_RESTART_BYTES = 64 * 1024 * 1024;
/** Before a WAL restart, the checkpointer runs at most this many checkpoints back to back… */
const CATCH_UP_ROUNDS = 8;
/** …and stops as soon as one took less than this. */
const QUICK_CHECKPOINT_MS = 2;
/** How long close() waits for the checkpointer thread to finish. */
const CLOSE_TIMEOUT_MS = 2000;
/**
 * How long a statement on the event loop waits for a lock another process holds (`sqlite3` on the file, say)
 * before it fails and the batch gets 503. The waiting blocks the whole process, health checks included; our own
 * checkpointer never takes the write lock, so only another process makes the writer wait at all.
 */
const WRITER_BUSY_TIMEOUT_MS = 100;
/** How often the store checks that its path still names the file it opened. */
const FILE_CHECK_MS = 1000;

/**
 * The checkpointer thread, with its own connection to the same file. A checkpoint copies WAL frames into the
 * database and, with synchronous=NORMAL, fsyncs the WAL before and the database after: done on the event loop
 * (SQLite's automatic checkpoint, every 1000 pages) those waits stalled callbacks and cost a quarter of the
 * throughput (docs/performance.md). PASSIVE never waits for the writer. SQLite only fsyncs the database when a
 * checkpoint reached the end of the WAL, which under steady writes is the writer's final one (see
 * checkpointToEnd): that fsync then flushed every page copied since the WAL started, 11–20 ms on the event
 * loop. So the thread also flushes the database file after each checkpoint (fdatasync acts on the file, through
 * any descriptor), and the final one finds little left. The descriptor is the store's, opened and closed on the
 * event loop: closing a descriptor releases every POSIX lock the process holds on the file, SQLite's included,
 * so it is closed only after both connections are. Plain CommonJS, run with `eval`, so that the thread needs
 * nothing but the driver.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 2000');
db.pragma('synchronous = NORMAL');
const flush = () => {
  try {
    fdatasyncSync(workerData.fd);
  } catch {
    // Only an optimisation: the final checkpoint syncs the file anyway.
  }
};
const checkpoint = (type) => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    if (result.checkpointed > 0) flush();
    if (type) parentPort.postMessage({ type, log: result.log, checkpointed: result.checkpointed });
    return result.log;
  } catch (error) {
    parentPort.postMessage({ type: type ?? 'checkpointed', failed: String(error) });
    return undefined;
  }
};
const timer = setInterval(() => checkpoint('checkpointed'), workerData.everyMs);
parentPort.on('message', (message) => {
  if (message === 'catch-up') {
    // Back-to-back checkpoints, each copying what was committed during the one before, until one is quick: what
    // the writer then checkpoints itself is the frames of a millisecond or two. A writer faster than the
    // checkpoints would grow the WAL meanwhile: past twice the restart size, the writer takes over at once.
    for (let i = 0; i < workerData.catchUpRounds; i++) {
      const started = performance.now();
      const log = checkpoint(undefined);
      if (log === undefined || log >= 2 * workerData.restartFrames) break;
      if (performance.now() - started < workerData.quickMs) break;
    }
    return parentPort.postMessage({ type: 'caught-up' });
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface SqliteStoreOptions {
  /** WAL size at which the WAL is made to start over; default 64 MiB (tests use less). */
  readonly walRestartBytes?: number;
  /** Rows of `seen_keys` one purge statement walks (PURGE_SCAN_CHUNK; tests use less). */
  readonly purgeScanChunk?: number;
  /** Rows a purge walks at the least (PURGE_MIN_SCAN; tests use less). */
  readonly purgeMinScan?: number;
}

interface WalCheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

interface CheckpointReport {
  type: 'checkpointed' | 'caught-up';
  log?: number;
  checkpointed?: number;
  failed?: string;
}

/**
 * The embedded store: one SQLite file in WAL mode. `synchronous=NORMAL` makes every committed batch survive a
 * crash or `kill -9` of the process (only a power loss may drop the last transactions), at a fraction of the
 * cost of FULL. better-sqlite3 is synchronous: one batch is one short transaction on the event loop.
 *
 * Checkpoints run on a thread of their own (see CHECKPOINTER). Under steady writes the WAL would then grow
 * forever, as SQLite only starts it over when a write finds every frame checkpointed: once it holds
 * WAL_RESTART_BYTES, the checkpointer catches up (checkpoints back to back until one is quick, while commits go
 * on), then the writer checkpoints the last frames itself, between two commits, and its next commit starts the
 * WAL over. That costs the event loop 1–3 ms once per WAL; making commits wait for the thread instead took
 * 10–27 ms, because the thread shares the core with the busy event loop (docs/performance.md). Should the
 * thread fail, SQLite's own automatic checkpoints take over again.
 */
export class SqliteStore implements StateStore {
  readonly name = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly claim: Database.Statement<[Buffer, number, number]>;
  private readonly seen: Database.Statement<[Buffer, number], { 1: number }>;
  private readonly endedGet: Database.Statement<[Buffer, number], { 1: number }>;
  private readonly endedPut: Database.Statement<[Buffer, number]>;
  private readonly endedPurge: Database.Statement<[number, number]>;
  /**
   * Until when a store of an earlier version may hold live plain-hashed keys of disconnects (`endText`, which
   * every disconnect claimed then, whether it ended a session or not): 0 for a store created by this version.
   */
  private readonly legacyStopKeysUntil: number;
  private readonly get: Database.Statement<[string], SessionRow>;
  private readonly put: Database.Statement<[SessionRow]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly expire: Database.Statement<[string, number], SessionRow>;
  private readonly expireBatch: (keys: readonly string[], cutoffMs: number) => Session[];
  private readonly chunkEnd: Database.Statement<[Buffer, number], Buffer>;
  private readonly purgeRange: Database.Statement<[Buffer, Buffer, number]>;
  private readonly purgeRest: Database.Statement<[Buffer, number]>;
  private readonly purgeBelow: Database.Statement<[Buffer, Buffer, number]>;
  /** The last key the previous walk over plain hashes passed (NO_KEY: start from the first). */
  private purgeCursor: Buffer = NO_KEY;
  /** Keys claimed since the previous purge, timed and hashed: they set how far its two walks go. */
  private timedClaimed = 0;
  private hashedClaimed = 0;
  private readonly applyBatch: (
    commands: readonly Command[],
    nowMs: number,
    ttlMs: number,
    room: SessionRoom,
  ) => CommandResult[];
  private checkpointer: Worker | undefined;
  /** The database file, for the checkpointer's flushes (see CHECKPOINTER); closed after both connections. */
  private flushFd: number | undefined;
  /** Set while the checkpointer catches up before a WAL restart. */
  private catchingUp = false;
  /** Why the store's file can no longer be written (see watchFile). */
  private fileProblem: string | undefined;
  private fileWatch: NodeJS.Timeout | undefined;

  /** How many times the writer checkpointed the WAL to its end, so that it starts over (tests, diagnostics). */
  walRestarts = 0;

  constructor(
    path: string,
    private readonly options: SqliteStoreOptions = {},
  ) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // De-duplication keys are random (hashes): each new key dirties its own B-tree page, which the commit writes
    // to the WAL and the checkpoint copies again. 2 KiB pages halve those bytes (-20 % store CPU per callback,
    // docs/performance.md). Only takes effect for a new file; an existing one keeps its page size.
    this.db.pragma('page_size = 2048');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`busy_timeout = ${WRITER_BUSY_TIMEOUT_MS}`);
    const upgrading = this.tableExists('seen_keys') && !this.tableExists('ended_pushes');
    this.db.exec(SCHEMA);
    this.legacyStopKeysUntil = this.legacyWindow(upgrading);
    // A key whose entry expired (but was not purged yet) counts as new again.
    this.claim = this.db.prepare(
      `INSERT INTO seen_keys (k, expires_at) VALUES (?, ?)
       ON CONFLICT (k) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_keys.expires_at <= ?`,
    );
    this.seen = this.db.prepare('SELECT 1 FROM seen_keys WHERE k = ? AND expires_at > ?');
    this.endedGet = this.db.prepare('SELECT 1 FROM ended_pushes WHERE k = ? AND expires_at > ?');
    this.endedPut = this.db.prepare(
      `INSERT INTO ended_pushes (k, expires_at) VALUES (?, ?)
       ON CONFLICT (k) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`,
    );
    this.endedPurge = this.db.prepare(
      `DELETE FROM ended_pushes WHERE k IN
         (SELECT k FROM ended_pushes WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
    );
    this.get = this.db.prepare('SELECT * FROM sessions WHERE k = ?');
    this.put = this.db.prepare(
      `INSERT INTO sessions (k, domain, app_name, stream_id, sequence, started_at, last_seen_at)
       VALUES (@k, @domain, @app_name, @stream_id, @sequence, @started_at, @last_seen_at)
       ON CONFLICT (k) DO UPDATE SET sequence = excluded.sequence, started_at = excluded.started_at,
         last_seen_at = excluded.last_seen_at`,
    );
    this.remove = this.db.prepare('DELETE FROM sessions WHERE k = ?');
    this.expire = this.db.prepare('DELETE FROM sessions WHERE k = ? AND last_seen_at < ? RETURNING *');
    this.expireBatch = this.db.transaction((keys: readonly string[], cutoffMs: number) =>
      keys.flatMap((key) => {
        const row = this.expire.get(key, cutoffMs);
        return row ? [toSession(row)] : [];
      }),
    );
    this.chunkEnd = this.db
      .prepare<[Buffer, number], Buffer>('SELECT k FROM seen_keys WHERE k > ? ORDER BY k LIMIT 1 OFFSET ?')
      .pluck();
    this.purgeRange = this.db.prepare('DELETE FROM seen_keys WHERE k > ? AND k <= ? AND expires_at <= ?');
    this.purgeRest = this.db.prepare('DELETE FROM seen_keys WHERE k > ? AND expires_at <= ?');
    this.purgeBelow = this.db.prepare('DELETE FROM seen_keys WHERE k > ? AND k < ? AND expires_at <= ?');
    this.applyBatch = this.db.transaction((commands, nowMs, ttlMs, room) =>
      commands.map((command: Command) => this.applyOne(command, nowMs, nowMs + ttlMs, room)),
    );
    if (path !== ':memory:') {
      this.startCheckpointer(path);
      this.watchFile(path);
    }
  }

  /**
   * SQLite goes on writing to a file that was deleted (or replaced by another) after it was opened, and every
   * commit succeeds: callbacks would be answered 200 while their state went nowhere, and the next start would
   * find none of it. So the store checks every FILE_CHECK_MS, and at every ping, that its path still names the
   * file it opened; once it does not, every write fails (503 and store_up 0) until a restart opens the file anew.
   */
  private watchFile(path: string): void {
    const opened = statSync(path);
    this.checkFile = () => {
      if (this.fileProblem) return;
      let now;
      try {
        now = statSync(path);
      } catch (error) {
        // Only a missing file or directory says the file is gone; anything else (EACCES, EIO) proves nothing.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') return;
        now = undefined;
      }
      if (now?.ino !== opened.ino || now.dev !== opened.dev) {
        this.fileProblem = `${path} was ${now ? 'replaced' : 'deleted'} after it was opened; restart to open it again`;
      }
    };
    this.fileWatch = setInterval(this.checkFile, FILE_CHECK_MS);
    this.fileWatch.unref();
  }

  private checkFile: () => void = () => undefined;

  /** Throws when the store's file is gone (see watchFile). */
  private assertFile(): void {
    if (this.fileProblem) throw new Error(`state store: ${this.fileProblem}`);
  }

  private tableExists(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined
    );
  }

  /**
   * Opening a store of an earlier version, whose disconnects each claimed a plain hash of `endText` rather than a
   * timed key: until the last of its keys expires, a start also looks for its push's end among them, and a
   * disconnect whose old key is there is a retry of one already applied. Kept in `meta`, so that a restart within
   * that time keeps looking.
   */
  private legacyWindow(upgrading: boolean): number {
    if (upgrading) {
      const until = this.db.prepare('SELECT max(expires_at) FROM seen_keys').pluck().get() as number | null;
      this.db
        .prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('legacy_stop_keys_until', ?)")
        .run(String(until ?? 0));
    }
    const stored = this.db.prepare("SELECT v FROM meta WHERE k = 'legacy_stop_keys_until'").pluck().get();
    return Number(stored ?? 0);
  }

  private startCheckpointer(path: string): void {
    const restartBytes = this.options.walRestartBytes ?? WAL_RESTART_BYTES;
    const restartFrames = restartBytes / (this.db.pragma('page_size', { simple: true }) as number);
    this.flushFd = openSync(path, 'r');
    const worker = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: {
        path,
        fd: this.flushFd,
        driver: createRequire(import.meta.url).resolve('better-sqlite3'),
        everyMs: CHECKPOINT_EVERY_MS,
        catchUpRounds: CATCH_UP_ROUNDS,
        restartFrames,
        quickMs: QUICK_CHECKPOINT_MS,
      },
    });
    worker.unref();
    worker.on('message', (report: CheckpointReport) => {
      if (report.type === 'caught-up') {
        this.catchingUp = false;
        this.checkpointToEnd();
      } else if ((report.log ?? 0) >= restartFrames && !this.catchingUp) {
        this.catchingUp = true;
        worker.postMessage('catch-up');
      }
    });
    const fallBack = () => {
      if (this.checkpointer !== worker) return;
      this.checkpointer = undefined;
      this.catchingUp = false;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    };
    worker.on('error', fallBack);
    worker.on('exit', fallBack);
    this.db.pragma('wal_autocheckpoint = 0');
    this.checkpointer = worker;
  }

  /**
   * Checkpoints what the thread left, on our connection: no commit can come in between, so every frame is
   * copied and our next write starts the WAL over. If the thread happens to checkpoint right now (busy), or
   * anything fails, the next report tries again; a failing store shows in the next commit.
   */
  private checkpointToEnd(): void {
    try {
      const [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as WalCheckpointResult[];
      if (result && result.busy === 0 && result.log === result.checkpointed) this.walRestarts++;
    } catch {
      // See above.
    }
  }

  private applyOne(command: Command, nowMs: number, expiresAt: number, room: SessionRoom): CommandResult {
    const change = command.session;
    const legacy = nowMs < this.legacyStopKeysUntil;
    // A retry of a disconnect that an earlier version claimed under its plain hash.
    if (legacy && change?.op === 'stop' && this.seen.get(change.endKey, nowMs)) return { duplicate: true };
    if (this.claim.run(command.dedupKey, expiresAt, nowMs).changes === 0) return { duplicate: true };
    if (command.dedupKey.length === TIMED_KEY_BYTES) this.timedClaimed++;
    else this.hashedClaimed++;
    if (!change) return { duplicate: false };
    this.batchNowMs = nowMs;
    this.batchExpiresAt = expiresAt;
    return { duplicate: false, session: applySession(change, this.records, room) };
  }

  /** The time and key expiry of the command being applied, for `records`. */
  private batchNowMs = 0;
  private batchExpiresAt = 0;

  /** The session tables, as applySession reads and writes them. */
  private readonly records: SessionRecords = {
    get: (key) => {
      const row = this.get.get(key);
      return row && toSession(row);
    },
    ended: (endKey) =>
      this.endedGet.get(endKey, this.batchNowMs) !== undefined ||
      (this.batchNowMs < this.legacyStopKeysUntil && this.seen.get(endKey, this.batchNowMs) !== undefined),
    put: (key, session) => void this.put.run(toRow(key, session)),
    remove: (key) => void this.remove.run(key),
    markEnded: (endKey) => void this.endedPut.run(endKey, this.batchExpiresAt),
  };

  async loadSessions(): Promise<Session[]> {
    return this.db.prepare<[], SessionRow>('SELECT * FROM sessions').all().map(toSession);
  }

  async apply(
    commands: readonly Command[],
    nowMs: number,
    keyTtlMs: number,
    room = SessionRoom.unlimited(),
  ): Promise<CommandResult[]> {
    this.assertFile();
    return this.applyBatch(commands, nowMs, keyTtlMs, room);
  }

  async expireSessions(keys: readonly string[], cutoffMs: number): Promise<Session[]> {
    this.assertFile();
    return this.expireBatch(keys, cutoffMs);
  }

  /**
   * Deletes expired keys in two walks over `seen_keys` in key order, PURGE_SCAN_CHUNK rows per statement with a
   * turn of the event loop between two. There is no index on the expiry (it cost every claim a second B-tree
   * entry, and the purge a random page per hashed key), so:
   * * timed keys (`timedKey`) of events older than the TTL come first in the table, and nearly all of them
   *   expired: they are walked from the first key, PURGE_SCAN_FACTOR rows per timed key claimed since the last
   *   purge (as many expire as were claimed a TTL ago), and nearly every row walked is one deleted;
   * * plain hashes are spread over the rest of the table: walked from where the previous purge stopped, past the
   *   timed keys of younger events, PURGE_SCAN_FACTOR rows per hashed key claimed since, and from the start again
   *   after the last row. A small table is walked whole by every purge.
   * A key is never forgotten before it expired; a hashed one may stay up to one pass after, a timed one of an
   * event that came late until the event is older than the TTL.
   */
  async purgeExpiredKeys(nowMs: number, keyTtlMs: number): Promise<number> {
    // A key expires at its claim plus the TTL, and an event is claimed after it happened (but for the few that
    // came ahead of our clock): the keys of events up to now − TTL have expired, those of later ones mostly not.
    const budget = (claimed: number) =>
      Math.max(this.options.purgeMinScan ?? PURGE_MIN_SCAN, PURGE_SCAN_FACTOR * claimed);
    const [timedBudget, hashedBudget] = [budget(this.timedClaimed), budget(this.hashedClaimed)];
    this.timedClaimed = 0;
    this.hashedClaimed = 0;
    const old = await this.walkKeys(NO_KEY, timePrefix(nowMs - keyTtlMs + 1), timedBudget, nowMs);
    const young = timePrefix(nowMs + TIMED_AHEAD_MS);
    const from = Buffer.compare(this.purgeCursor, young) < 0 ? young : this.purgeCursor;
    const hashed = await this.walkKeys(from, undefined, hashedBudget, nowMs);
    this.purgeCursor = hashed.stoppedAt ?? NO_KEY;
    return old.purged + hashed.purged + (await this.purgeEnded(nowMs));
  }

  /** Deletes the expired records of ended pushes, oldest first, in statements of PURGE_SCAN_CHUNK. */
  private async purgeEnded(nowMs: number): Promise<number> {
    const chunk = this.options.purgeScanChunk ?? PURGE_SCAN_CHUNK;
    let purged = 0;
    for (;;) {
      const { changes } = this.endedPurge.run(nowMs, chunk);
      purged += changes;
      if (changes < chunk) return purged;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Deletes the expired keys after `from` and before `to` (undefined: to the end), walking about `budget` rows at
   * most; `stoppedAt` is the last key walked when the budget ran out first.
   */
  private async walkKeys(
    from: Buffer,
    to: Buffer | undefined,
    budget: number,
    nowMs: number,
  ): Promise<{ purged: number; stoppedAt?: Buffer }> {
    const chunk = this.options.purgeScanChunk ?? PURGE_SCAN_CHUNK;
    let purged = 0;
    let cursor = from;
    for (;;) {
      const end = this.chunkEnd.get(cursor, chunk - 1);
      if (end === undefined || (to !== undefined && Buffer.compare(end, to) >= 0)) {
        const last =
          to === undefined ? this.purgeRest.run(cursor, nowMs) : this.purgeBelow.run(cursor, to, nowMs);
        return { purged: purged + last.changes };
      }
      purged += this.purgeRange.run(cursor, end, nowMs).changes;
      cursor = end;
      budget -= chunk;
      if (budget <= 0) return { purged, stoppedAt: cursor };
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** A write, not a read: a full disk or a read-only file must keep reporting the store as down. */
  async ping(): Promise<void> {
    this.checkFile();
    this.assertFile();
    this.db
      .prepare("INSERT INTO meta (k, v) VALUES ('heartbeat', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v")
      .run(String(Date.now()));
  }

  async close(): Promise<void> {
    clearInterval(this.fileWatch);
    const worker = this.checkpointer;
    this.checkpointer = undefined;
    if (worker) {
      // Its connection closes first, so that ours, the last one, checkpoints everything and removes the WAL.
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), CLOSE_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    if (this.db.open) this.db.close();
    if (this.flushFd !== undefined) closeSync(this.flushFd);
    this.flushFd = undefined;
  }
}

function toRow(k: string, s: Session): SessionRow {
  return {
    k,
    domain: s.domain,
    app_name: s.appName,
    stream_id: s.streamId,
    sequence: s.sequence,
    started_at: s.startedAt,
    last_seen_at: s.lastSeenAt,
  };
}
