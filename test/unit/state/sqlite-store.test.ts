import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { hashKey, sessionKey, timedKey, type Session } from '../../../src/state/session.js';
import { SqliteStore, type SqliteStoreOptions } from '../../../src/state/sqlite-store.js';
import type { Command } from '../../../src/state/store.js';

const NOW = 1_700_000_000_000;
const TTL = 1_800_000;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tle-sqlite-store-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A fresh database file in the test's temporary directory (in a sub-directory that does not exist yet). */
function freshPath(): string {
  return join(dir, `case-${++files}`, 'state.db');
}

function session(streamId: string, sequence: string, lastSeenAt = NOW): Session {
  return {
    domain: 'd.example.com',
    appName: 'live',
    streamId,
    sequence,
    startedAt: 1_700_000_000,
    lastSeenAt,
  };
}

const key = (text: string): Command => ({ dedupKey: hashKey(text) });
/** `n` keys `prefix-0` … `prefix-(n-1)`. */
const keys = (n: number, prefix: string): Command[] =>
  Array.from({ length: n }, (_, i) => key(`${prefix}-${i}`));
/** Claims `commands` with a TTL of 1 s; for each, whether the store still held its key (a duplicate). */
const held = async (store: SqliteStore, commands: Command[], nowMs: number): Promise<boolean[]> =>
  (await store.apply(commands, nowMs, 1000)).map((r) => r.duplicate);
/** `n` time-ordered keys of events at `atMs`, `atMs + 1`, … (what a 321 report or a start claims). */
const timed = (n: number, prefix: string, atMs: number): Command[] =>
  Array.from({ length: n }, (_, i) => ({ dedupKey: timedKey(atMs + i, `${prefix}-${i}`) }));
/** What the push kinds do (src/events/push.ts): a start and a stop of one push know the same `endKey`. */
const endKeyOf = (s: Session) => hashKey(`0/${s.streamId}/${s.sequence}`);
const startOf = (s: Session, dedup = `1/${s.streamId}/${s.sequence}`): Command => ({
  dedupKey: hashKey(dedup),
  session: { op: 'start', session: s, endKey: endKeyOf(s) },
});
const stopOf = (s: Session, dedup = `0/${s.streamId}/${s.sequence}/stop`): Command => ({
  dedupKey: hashKey(dedup),
  session: { op: 'stop', key: sessionKey(s), sequence: s.sequence, endKey: endKeyOf(s) },
});

async function withStore<T>(
  run: (store: SqliteStore, path: string) => Promise<T>,
  path = freshPath(),
  options: SqliteStoreOptions = {},
) {
  const store = new SqliteStore(path, options);
  try {
    return await run(store, path);
  } finally {
    await store.close();
  }
}

/** A fresh store whose purge walks in small steps (`options`), for the purge's own tests. */
const withWalks = (options: SqliteStoreOptions, run: (store: SqliteStore) => Promise<void>) =>
  withStore(run, freshPath(), options);

describe('SqliteStore de-duplication', () => {
  it('claims a key once: the second apply of the same key is a duplicate, also within one batch', () =>
    withStore(async (store, path) => {
      assert.ok(existsSync(path), 'creates the file and its directory');
      assert.equal(store.name, 'sqlite');
      assert.deepEqual(await store.apply([key('a')], NOW, TTL), [{ duplicate: false }]);
      assert.deepEqual(await store.apply([key('a')], NOW + 1, TTL), [{ duplicate: true }]);
      assert.deepEqual(await store.apply([key('b'), key('b'), key('c')], NOW, TTL), [
        { duplicate: false },
        { duplicate: true },
        { duplicate: false },
      ]);
    }));

  it('a duplicate does not apply its session change again', () =>
    withStore(async (store) => {
      const s = session('s1', '1');
      const [first] = await store.apply([startOf(s)], NOW, TTL);
      assert.deepEqual(first, { duplicate: false, session: { op: 'start', result: 'opened', session: s } });
      await store.apply([stopOf(s)], NOW, TTL);
      // A retry of the start after its stop: de-duplicated, the session stays closed.
      assert.deepEqual(await store.apply([startOf(s)], NOW + 1000, TTL), [{ duplicate: true }]);
      assert.deepEqual(await store.loadSessions(), []);
    }));

  it('an expired key counts as new again (before any purge), exactly at its expiry', () =>
    withStore(async (store) => {
      await store.apply([key('a')], NOW, 1000);
      assert.deepEqual(await store.apply([key('a')], NOW + 999, 1000), [{ duplicate: true }]);
      assert.deepEqual(await store.apply([key('a')], NOW + 1000, 1000), [{ duplicate: false }]);
      // Claimed again with a new expiry.
      assert.deepEqual(await store.apply([key('a')], NOW + 1999, 1000), [{ duplicate: true }]);
    }));

  it('a duplicate does not extend the expiry of the key', () =>
    withStore(async (store) => {
      await store.apply([key('a')], NOW, 1000);
      await store.apply([key('a')], NOW + 900, 1000);
      assert.deepEqual(await store.apply([key('a')], NOW + 1000, 1000), [{ duplicate: false }]);
    }));

  it('purgeExpiredKeys forgets exactly the expired keys, in chunks, and returns how many', () =>
    withStore(async (store) => {
      const old = keys(12_345, 'old');
      await store.apply(old, NOW, 1000);
      await store.apply([key('young')], NOW + 500, 1000);
      assert.equal(await store.purgeExpiredKeys(NOW + 999, 1000), 0);
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 12_345);
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 0);
      assert.deepEqual(await store.apply([key('young')], NOW + 1001, 1000), [{ duplicate: true }]);
      assert.deepEqual(await store.apply([key('old-7')], NOW + 1001, 1000), [{ duplicate: false }]);
    }));

  it('purges incrementally: a bounded walk per call, going on where the last one stopped, then round again', () =>
    withWalks({ purgeScanChunk: 50, purgeMinScan: 250 }, async (store) => {
      // 1 000 claims: the first purge may walk 4 000 rows, more than the table, so it walks it whole.
      await store.apply(keys(1000, 'k'), NOW, 1000);
      assert.equal(await store.purgeExpiredKeys(NOW + 999, 1000), 0, 'nothing expired yet');
      // No claims since: each purge walks its minimum, 250 rows in chunks of 50.
      const purged = [];
      for (let i = 0; i < 5; i++) purged.push(await store.purgeExpiredKeys(NOW + 1000, 1000));
      assert.deepEqual(purged, [250, 250, 250, 250, 0]);
      // After the end of the table the walk starts over; nothing is left.
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 0);
      assert.deepEqual(await store.apply([key('k-1')], NOW + 1000, 1000), [{ duplicate: false }]);
    }));

  it('timed keys are purged by event time, from the first key; a late event stays until its key expires', () =>
    withWalks({ purgeScanChunk: 50, purgeMinScan: 100 }, async (store) => {
      // Claimed as their events happened (the last at NOW), with a TTL of 1 s; one late event, and young ones.
      await store.apply(timed(3000, 'old', NOW - 2999), NOW, 1000);
      await store.apply(timed(1, 'late', NOW - 5000), NOW + 500, 1000);
      await store.apply(timed(200, 'young', NOW + 800), NOW + 800, 1000);
      // The walk may cover 4 rows per timed key claimed since the last purge: every expired one goes at once.
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 3000);
      assert.equal(await store.purgeExpiredKeys(NOW + 1499, 1000), 0, 'the late event is not expired yet');
      assert.equal(await store.purgeExpiredKeys(NOW + 1500, 1000), 1);
      const again = [...timed(1, 'young', NOW + 800), ...timed(1, 'old', NOW - 2999)];
      assert.deepEqual(await held(store, again, NOW + 1500), [true, false]);
    }));

  it('the walk over hashed keys skips the timed keys of young events', () =>
    withWalks({ purgeScanChunk: 50, purgeMinScan: 100 }, async (store) => {
      await store.apply(keys(120, 'hashed'), NOW, 1000);
      await store.apply(timed(3000, 'young', NOW + 800), NOW + 800, 1000);
      assert.equal(await store.purgeExpiredKeys(NOW + 999, 1000), 0, 'nothing expired yet');
      // No claims since: each walk covers its minimum, 100 rows, and all of the hashed walk's are hashed keys.
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 100);
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 20);
      assert.deepEqual(await held(store, timed(1, 'young', NOW + 800), NOW + 1000), [true]);
    }));

  it('a purge never forgets a key before its expiry, whatever the key order of young and old keys', () =>
    withWalks({ purgeScanChunk: 7, purgeMinScan: 7 }, async (store) => {
      const young = keys(300, 'young');
      const old = keys(300, 'old');
      await store.apply(old, NOW, 1000);
      await store.apply(young, NOW + 600, 1000);
      let purged = 0;
      for (let i = 0; i < 20; i++) purged += await store.purgeExpiredKeys(NOW + 1500, 1000);
      assert.equal(purged, 300);
      assert.deepEqual(await held(store, [...young, ...old], NOW + 1500), [
        ...young.map(() => true),
        ...old.map(() => false),
      ]);
    }));

  it('a purge gives the event loop a turn between two chunks', () =>
    withWalks({ purgeScanChunk: 50, purgeMinScan: 1 }, async (store) => {
      await store.apply(keys(500, 'k'), NOW, 1000);
      let turns = 0;
      let done = false;
      const tick = () => {
        turns++;
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 500);
      done = true;
      // 500 rows in chunks of 50: 10 chunks, 9 turns between them.
      assert.ok(turns >= 9, `only ${turns} turns`);
    }));

  it("a stop's record expires with the keys: a very late start of an ended push opens a session again", () =>
    withStore(async (store) => {
      const s = session('s1', '1');
      await store.apply([stopOf(s)], NOW, 1000);
      const [early] = await store.apply([startOf(s, 'start-a')], NOW + 999, 1000);
      assert.equal(
        early?.duplicate === false && early.session?.op === 'start' && early.session.result,
        'already_ended',
      );
      assert.equal(await store.purgeExpiredKeys(NOW + 999, 1000), 0);
      // The stop's key, its record of the ended push, and the refused start's key.
      assert.equal(await store.purgeExpiredKeys(NOW + 2000, 1000), 3);
      const [late] = await store.apply([startOf(s, 'start-b')], NOW + 2000, 1000);
      assert.equal(
        late?.duplicate === false && late.session?.op === 'start' && late.session.result,
        'opened',
      );
    }));
});

describe('SqliteStore ended pushes', () => {
  const records = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      return db.prepare('SELECT count(*) FROM ended_pushes').pluck().get();
    } finally {
      db.close();
    }
  };

  it('a stop that ends its session leaves no record; one that ends none leaves one, for its late start', () =>
    withStore(async (store, path) => {
      const closed = session('closed', '1');
      const [, stop] = await store.apply([startOf(closed), stopOf(closed)], NOW, TTL);
      assert.equal(stop?.duplicate === false && stop.session?.result, 'closed');
      assert.equal(records(path), 0, 'only the two keys were written');
      // A start of another sequence of the same stream, then the disconnect of the first: stale, recorded.
      const stale = session('stale', '1');
      await store.apply(
        [startOf(session('stale', '2')), stopOf(stale), stopOf(session('none', '1'))],
        NOW,
        TTL,
      );
      assert.equal(records(path), 2);
      const [late] = await store.apply([startOf(stale, 'late-start')], NOW + 1, TTL);
      assert.equal(late?.duplicate === false && late.session?.result, 'already_ended');
    }));

  it('purges expired records and keeps the live ones', () =>
    withWalks({ purgeScanChunk: 50, purgeMinScan: 1 }, async (store) => {
      const gone = Array.from({ length: 120 }, (_, i) => stopOf(session(`gone-${i}`, '1')));
      await store.apply(gone, NOW, 1000);
      const kept = session('kept', '1');
      await store.apply([stopOf(kept)], NOW + 500, 1000);
      // 120 keys and 120 records expired; the last stop's key and record did not.
      assert.equal(await store.purgeExpiredKeys(NOW + 1000, 1000), 240);
      const [late] = await store.apply([startOf(kept)], NOW + 1000, 1000);
      assert.equal(late?.duplicate === false && late.session?.result, 'already_ended');
    }));

  it('opened on a store of an earlier version, also finds the plain-hashed stop keys it claimed, until they expire', async () => {
    const path = freshPath();
    const [early, retried, restarted] = [
      session('early', '1'),
      session('retried', '1'),
      session('restarted', '1'),
    ];
    await withStore(async (store) => {
      await store.apply([startOf(retried), startOf(restarted)], NOW, TTL);
    }, path);
    // What an earlier version left: each disconnect's key was the plain hash that is now its `endKey`, with no
    // other record, and there was no table of ended pushes.
    const earlier = new Database(path);
    earlier.exec("DROP TABLE ended_pushes; DELETE FROM meta WHERE k = 'legacy_stop_keys_until'");
    const claim = earlier.prepare('INSERT INTO seen_keys (k, expires_at) VALUES (?, ?)');
    claim.run(endKeyOf(early), NOW + TTL);
    claim.run(endKeyOf(retried), NOW + TTL);
    earlier.prepare('DELETE FROM sessions WHERE k = ?').run(sessionKey(retried));
    earlier.close();
    await withStore(async (store) => {
      // The disconnect came first, before the upgrade: its start opens nothing.
      const [start] = await store.apply([startOf(early)], NOW + 1, TTL);
      assert.equal(start?.duplicate === false && start.session?.result, 'already_ended');
      // A retry of a disconnect applied before the upgrade (its key is timed now) is still a duplicate.
      assert.deepEqual(await store.apply([stopOf(retried)], NOW + 1, TTL), [{ duplicate: true }]);
    }, path);
    // Across a restart, until the last key of the earlier version expired; then no more look-ups of them.
    await withStore(async (store) => {
      assert.deepEqual(await store.apply([stopOf(retried, 'another-stop-key')], NOW + TTL - 1, TTL), [
        { duplicate: true },
      ]);
      const [stop] = await store.apply([stopOf(restarted)], NOW + TTL, TTL);
      assert.equal(stop?.duplicate === false && stop.session?.result, 'closed');
      const [start] = await store.apply([startOf(early, 'another-start-key')], NOW + TTL, TTL);
      assert.equal(start?.duplicate === false && start.session?.result, 'opened');
    }, path);
  });
});

describe('SqliteStore sessions', () => {
  it('applies start, touch and stop, and reports each result', () =>
    withStore(async (store) => {
      const s = session('s1', '1', NOW);
      const results = await store.apply(
        [
          startOf(s),
          { dedupKey: hashKey('touch'), session: { op: 'touch', key: sessionKey(s), at: NOW + 5000 } },
          stopOf(session('s1', '0')),
        ],
        NOW,
        TTL,
      );
      assert.deepEqual(
        results.map((r) => !r.duplicate && r.session?.result),
        ['opened', 'touched', 'stale_sequence'],
      );
      assert.deepEqual(await store.loadSessions(), [{ ...s, lastSeenAt: NOW + 5000 }]);
      const [closed] = await store.apply([stopOf(s)], NOW, TTL);
      assert.deepEqual(closed, {
        duplicate: false,
        session: { op: 'stop', result: 'closed', ended: { ...s, lastSeenAt: NOW + 5000 } },
      });
      assert.deepEqual(await store.loadSessions(), []);
    }));

  it('expireSessions deletes and returns those of the given sessions last seen before the cutoff', () =>
    withStore(async (store) => {
      const old = session('old', '1', NOW - 2000);
      const other = session('other', '1', NOW - 2000);
      const edge = session('edge', '1', NOW - 1000);
      const young = session('young', '1', NOW);
      await store.apply([startOf(old), startOf(other), startOf(edge), startOf(young)], NOW, TTL);
      const all = [old, edge, young].map(sessionKey);
      assert.deepEqual(await store.expireSessions([...all, 'no such stream'], NOW - 1000), [old]);
      assert.deepEqual(await store.expireSessions(all, NOW - 1000), []);
      // Only the sessions asked for.
      assert.deepEqual(await store.expireSessions([sessionKey(other)], NOW - 1000), [other]);
      const left = (await store.loadSessions()).map((s) => s.streamId).sort();
      assert.deepEqual(left, ['edge', 'young']);
      // An expired session's later disconnect finds no session.
      const [late] = await store.apply([stopOf(old)], NOW, TTL);
      assert.equal(late?.duplicate === false && late.session?.result, 'no_session');
    }));

  it('a batch is atomic: when one command fails, no key of the batch is claimed and it rejects', () =>
    withStore(async (store) => {
      const broken = { ...session('s2', '1'), sequence: null as unknown as string };
      await assert.rejects(
        store.apply([key('a'), startOf(session('s1', '1')), startOf(broken, 'b')], NOW, TTL),
      );
      assert.deepEqual(await store.loadSessions(), []);
      assert.deepEqual(await store.apply([key('a')], NOW, TTL), [{ duplicate: false }]);
    }));
});

describe('SqliteStore durability', () => {
  it('sessions, keys and ended pushes survive close and reopen of the same file', async () => {
    const path = freshPath();
    const live = session('s1', '1');
    const ended = session('s2', '7');
    await withStore(async (store) => {
      await store.apply([startOf(live), key('k'), stopOf(ended)], NOW, TTL);
    }, path);
    await withStore(async (store) => {
      assert.deepEqual(await store.loadSessions(), [live]);
      assert.deepEqual(await store.apply([key('k')], NOW + 1, TTL), [{ duplicate: true }]);
      const [late] = await store.apply([startOf(ended, 'new-key')], NOW + 1, TTL);
      assert.equal(late?.duplicate === false && late.session?.result, 'already_ended');
    }, path);
  });

  it('opens a file of an earlier version: drops the indexes on key expiry and session age, keeps all', async () => {
    const path = freshPath();
    const live = session('s1', '1');
    await withStore(async (store) => {
      await store.apply([key('kept'), startOf(live)], NOW, TTL);
    }, path);
    const indexes = () => {
      const db = new Database(path);
      try {
        return db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").pluck().all();
      } finally {
        db.close();
      }
    };
    const earlier = new Database(path);
    earlier.exec('CREATE INDEX seen_keys_expires_at ON seen_keys (expires_at)');
    earlier.exec('CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at)');
    earlier.close();
    assert.deepEqual(indexes(), ['ended_pushes_expires_at', 'seen_keys_expires_at', 'sessions_last_seen_at']);
    await withStore(async (store) => {
      assert.deepEqual(await store.apply([key('kept')], NOW + 1, TTL), [{ duplicate: true }]);
      assert.deepEqual(await store.loadSessions(), [live]);
    }, path);
    assert.deepEqual(indexes(), ['ended_pushes_expires_at']);
  });

  it('close releases every file descriptor it opened (connections and the checkpointer flush descriptor)', async () => {
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 5; i++) {
      const store = new SqliteStore(freshPath());
      await store.apply([key(`fd-${i}`)], NOW, TTL);
      await store.close();
    }
    assert.equal(open(), before);
  });

  it('rejects apply, loadSessions and ping after close (the receiver answers 503); close twice is fine', async () => {
    const store = new SqliteStore(freshPath());
    await store.ping();
    await store.close();
    await store.close();
    await assert.rejects(store.apply([key('a')], NOW, TTL));
    await assert.rejects(store.loadSessions());
    await assert.rejects(store.ping());
    await assert.rejects(store.expireSessions(['a'], NOW));
  });
});

describe('SqliteStore file', () => {
  it('once its file is deleted or replaced, every write fails naming the path: no 200 for state that goes nowhere', async () => {
    for (const replace of [false, true]) {
      const path = freshPath();
      const store = new SqliteStore(path);
      try {
        await store.apply([key('before')], NOW, TTL);
        for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
        if (replace) new Database(path).close();
        await assert.rejects(store.ping(), (error: Error) => error.message.includes(path));
        await assert.rejects(store.apply([key('after')], NOW, TTL), /restart to open it again/);
        await assert.rejects(store.expireSessions(['k'], NOW));
      } finally {
        await store.close();
      }
    }
  });

  it('fails fast when another process holds the write lock, rather than blocking the event loop for seconds', () =>
    withStore(async (store, path) => {
      await store.apply([key('first')], NOW, TTL);
      const other = new Database(path);
      other.exec("BEGIN IMMEDIATE; INSERT INTO meta (k, v) VALUES ('other', 'x')");
      try {
        await assert.rejects(store.apply([key('second')], NOW, TTL), { code: 'SQLITE_BUSY' });
        const writer = (store as unknown as { db: Database.Database }).db;
        assert.equal(writer.pragma('busy_timeout', { simple: true }), 100);
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      assert.deepEqual(await held(store, [key('second')], NOW), [false], 'works again once the lock is gone');
    }));
});

describe('SqliteStore WAL', () => {
  it('starts the WAL over once it holds the restart size, under steady writes, and loses nothing', async () => {
    const path = freshPath();
    const restartBytes = 512 * 1024;
    const store = new SqliteStore(path, { walRestartBytes: restartBytes });
    const written: Command[] = [];
    let batches = 0;
    try {
      // Random keys, 100 per batch: each dirties its own page, as de-duplication keys of starts do. Batches go
      // on (yielding to the checkpointer's messages) until the WAL started over twice, bounded in count.
      for (; store.walRestarts < 2 && batches < 20_000; batches++) {
        const batch = batches;
        const commands = Array.from({ length: 100 }, (_, i) => key(`wal-${batch}-${i}`));
        const results = await store.apply(commands, NOW, TTL);
        assert.ok(results.every((r) => !r.duplicate));
        written.push(...commands);
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Without the writer's own checkpoint to the end, SQLite would never start the WAL over under steady writes.
      assert.ok(store.walRestarts >= 2, `the WAL was made restartable ${store.walRestarts} times`);
      // And it does start over with the next commit: the WAL then holds that commit's frames only.
      const last = keys(10, 'wal-last');
      await store.apply(last, NOW, TTL);
      written.push(...last);
      const reader = new Database(path);
      try {
        const [result] = reader.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
        const log = result?.log ?? Infinity;
        assert.ok(log * 2048 < restartBytes, `${log} frames in the WAL after ${batches} commits`);
      } finally {
        reader.close();
      }
    } finally {
      await store.close();
    }
    await withStore(async (reopened) => {
      const again = await reopened.apply(written, NOW + 1, TTL);
      assert.equal(again.filter((r) => r.duplicate).length, written.length, 'every key survived');
    }, path);
  });
});
