import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sessionKey, type Session } from '../../../src/state/session.js';
import { SessionTable } from '../../../src/state/session-table.js';

function session(streamId: string, appName = 'live', sequence = '1'): Session {
  return { domain: 'push.example.com', appName, streamId, sequence, startedAt: 1, lastSeenAt: 1000 };
}

/** A session's own fields (an entry of the table has one more). */
const fields = (s: Session | undefined) =>
  s && {
    domain: s.domain,
    appName: s.appName,
    streamId: s.streamId,
    sequence: s.sequence,
    startedAt: s.startedAt,
    lastSeenAt: s.lastSeenAt,
  };

const counts = (table: SessionTable) =>
  Object.fromEntries([...table.countsByApp()].map(({ domain, appName, n }) => [`${domain}/${appName}`, n]));

describe('SessionTable', () => {
  it('idleKeys: live sessions last seen before the cutoff, each read when the iteration reaches it', () => {
    const table = new SessionTable();
    const at = (streamId: string, lastSeenAt: number) => ({ ...session(streamId), lastSeenAt });
    for (const [id, seen] of [
      ['a', 100],
      ['b', 200],
      ['c', 100],
      ['d', 100],
      ['e', 300],
    ] as const) {
      table.set(at(id, seen));
    }
    table.delete(sessionKey(session('c')));
    assert.deepEqual(
      [...table.idleKeys(200)].map((k) => k.split('\u0000')[2]),
      ['a', 'd'],
    );
    assert.deepEqual(
      [...table.idleKeys(201)].map((k) => k.split('\u0000')[2]),
      ['a', 'b', 'd'],
    );
    const idle = table.idleKeys(250);
    assert.equal(idle.next().value, sessionKey(session('a')));
    // Between two reads: 'b' reports, 'd' stops.
    table.set(at('b', 400));
    table.delete(sessionKey(session('d')));
    assert.deepEqual([...idle], []);
  });

  it('counts a stream that stops and starts again once, and forgets it only after two upkeep runs', () => {
    const table = new SessionTable();
    const a = session('a');
    table.set(a);
    table.set(session('b'));
    assert.equal(table.delete(sessionKey(a)), true);
    assert.equal(table.get(sessionKey(a)), undefined);
    assert.equal(table.delete(sessionKey(a)), false, 'an ended stream is not ended twice');
    assert.deepEqual([table.size, table.endedEntries], [1, 1]);
    assert.deepEqual(counts(table), { 'push.example.com/live': 1 });

    table.forgetEnded();
    assert.equal(table.endedEntries, 1, 'kept through the first upkeep after it ended');
    table.forgetEnded();
    assert.equal(table.endedEntries, 0, 'forgotten at the second');

    const b = table.get(sessionKey(session('b')));
    table.delete(sessionKey(session('b')));
    table.set({ ...session('b', 'live', '2'), startedAt: 5, lastSeenAt: 6000 });
    assert.deepEqual([table.size, table.endedEntries], [1, 0], 'starting again reuses the ended entry');
    assert.deepEqual(fields(table.get(sessionKey(session('b')))), {
      ...session('b', 'live', '2'),
      startedAt: 5,
      lastSeenAt: 6000,
    });
    assert.equal(table.get(sessionKey(session('b'))), b, 'written over in place: no new object per start');
    assert.deepEqual(counts(table), { 'push.example.com/live': 1 });
  });

  it('forgets every ended entry at once when they outnumber the live ones and 10 000', () => {
    const table = new SessionTable();
    for (let i = 0; i < 10_001; i++) table.set(session(`s${i}`));
    for (let i = 0; i < 10_000; i++) table.delete(sessionKey(session(`s${i}`)));
    assert.deepEqual([table.size, table.endedEntries], [1, 10_000]);
    table.delete(sessionKey(session('s10000')));
    assert.deepEqual([table.size, table.endedEntries], [0, 0]);
  });

  it('behaves as a plain map of the live sessions under any sequence of starts, stops and upkeep runs', () => {
    const op = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        id: fc.integer({ min: 0, max: 9 }),
        app: fc.constantFrom('a', 'b'),
        seq: fc.nat(3),
        at: fc.nat(1000),
      }),
      fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 9 }) }),
      fc.record({ op: fc.constant('forget' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const table = new SessionTable();
        const model = new Map<string, Session>();
        for (const o of ops) {
          if (o.op === 'set') {
            const s = {
              ...session(`s${o.id}`, o.app, String(o.seq)),
              startedAt: o.at,
              lastSeenAt: o.at * 1000,
            };
            // The receiver never moves a live stream to another app: a stream key includes its app.
            table.set(s);
            model.set(sessionKey(s), s);
          } else if (o.op === 'delete') {
            for (const app of ['a', 'b']) {
              const key = sessionKey(session(`s${o.id}`, app));
              assert.equal(table.delete(key), model.has(key));
              model.delete(key);
            }
          } else {
            table.forgetEnded();
          }
          assert.equal(table.size, model.size);
          for (const [key, s] of model) assert.deepEqual(fields(table.get(key)), s);
          const byKey = (list: Iterable<Session>) =>
            [...list].map(fields).sort((x, y) => sessionKey(x!).localeCompare(sessionKey(y!)));
          assert.deepEqual(byKey(table.values()), byKey(model.values()));
          const expected: Record<string, number> = {};
          for (const s of model.values())
            expected[`${s.domain}/${s.appName}`] = (expected[`${s.domain}/${s.appName}`] ?? 0) + 1;
          assert.deepEqual(counts(table), expected);
          assert.ok(table.endedEntries >= 0);
        }
      }),
    );
  });
});
