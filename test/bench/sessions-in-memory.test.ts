import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SessionsInMemory } from '../../bench/lib/sessions-in-memory.js';
import { hashKey, type SessionCommand } from '../../src/state/session.js';
import { SqliteStore } from '../../src/state/sqlite-store.js';
import type { Command } from '../../src/state/store.js';
import { KEY, session, start, stop, touch } from '../helpers/sessions.js';

/**
 * The bench's "service in memory" baseline stands for the service's work without its durable store, so its
 * sessions must follow the store's rules: every command sequence gets the results SQLite gives (but for
 * de-duplication, which the baseline leaves out: every key here is new).
 */

const dir = mkdtempSync(join(tmpdir(), 'tle-in-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TTL_MS = 1_800_000;

describe('the bench store that keeps sessions in memory', () => {
  it('opens, refreshes, replaces, ends and expires sessions as the SQLite store does', async () => {
    const sqlite = new SqliteStore(join(dir, 'state.db'));
    const memory = new SessionsInMemory();
    const script: SessionCommand[] = [
      stop('1'), // no session
      start(session('1', 1000)), // its disconnect came first: already ended
      start(session('2', 2000)), // opened
      touch(2500), // touched
      start(session('2', 2000, 2600)), // refreshed
      start(session('0', 500)), // stale
      stop('0'), // stale sequence
      start(session('3', 3000)), // replaced
      stop('3'), // closed
      touch(3500), // no session
      start(session('4', 4000)), // opened, then expired below
    ];
    let n = 0;
    for (const change of script) {
      const batch: Command[] = [{ dedupKey: hashKey(`event ${n++}`), session: change }];
      const expected = await sqlite.apply(batch, 10_000, TTL_MS);
      assert.deepEqual(await memory.apply(batch, 10_000, TTL_MS), expected, JSON.stringify(change));
    }
    const results = (
      await memory.apply([{ dedupKey: hashKey('last'), session: touch(4100) }], 10_000, TTL_MS)
    )[0];
    assert.deepEqual(results, {
      duplicate: false,
      session: { op: 'touch', result: 'touched', session: session('4', 4000, 4100) },
    });
    await sqlite.apply([{ dedupKey: hashKey('last'), session: touch(4100) }], 10_000, TTL_MS);
    assert.deepEqual(
      await memory.expireSessions([KEY], 4100),
      await sqlite.expireSessions([KEY], 4100),
      'not yet',
    );
    const expired = await memory.expireSessions([KEY], 4101);
    assert.deepEqual(expired, [session('4', 4000, 4100)]);
    assert.deepEqual(await sqlite.expireSessions([KEY], 4101), expired);
    // The records of the two disconnects that ended no session are forgotten once their TTL passed.
    assert.equal(await memory.purgeExpiredKeys(10_000 + TTL_MS - 1), 0);
    assert.equal(await memory.purgeExpiredKeys(10_000 + TTL_MS), 2);
    await sqlite.close();
  });
});
