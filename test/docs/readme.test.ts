import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { accepted, ENV_VARS, type EnvVarName } from '../../src/config.js';
import { pushException, pushStart, pushStop, recordFile, snapshot } from '../../src/traffic/payloads.js';
import { startService, T0, type TestService } from '../helpers/service.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Rows of the first Markdown table whose header starts with `first`. */
function table(first: string): string[][] {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`| ${first} |`));
  assert.ok(start >= 0, `a README table starting with "${first}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const unquote = (cell: string) => cell.replace(/^`|`$/g, '');

describe('README', () => {
  test('opens with exactly two commands: start on the embedded default, and run every test', () => {
    const head = readme.split('\n').slice(1, 6);
    const commands = head.filter((line) => line.startsWith('    '));
    assert.equal(commands.length, 2);
    assert.match(commands[0]!, /npm start/);
    assert.match(commands[1]!, /npm test/);
    const ci = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    assert.ok(ci.includes(commands[1]!.trim()), '.ci/run runs the README test command');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    };
    // exec: the shell npm runs the script in hands over to node, so SIGTERM reaches the service.
    assert.equal(pkg.scripts['start'], 'exec node --import tsx src/main.ts');
  });

  test('the configuration table lists every variable with its default and what it accepts', () => {
    const rows = new Map(table('variable').map(([name, ...cells]) => [unquote(name!), cells]));
    assert.deepEqual([...rows.keys()].sort(), Object.keys(ENV_VARS).sort());
    for (const [name, spec] of Object.entries(ENV_VARS)) {
      const [dflt, accepts] = rows.get(name)!;
      assert.equal(dflt, spec.default === '' ? '(none)' : `\`${spec.default}\``, name);
      assert.equal(accepts, accepted(name as EnvVarName), name);
      // No variable is left to "see the README", which is what its error message would then say.
      assert.notEqual(accepts, 'see the README', name);
    }
  });

  describe('the metrics table', () => {
    let svc: TestService;
    before(async () => {
      svc = await startService({ TENCENT_LIVE_MAX_TRACKED_STREAMS: '2' });
    });
    after(() => svc.close());

    test('lists exactly the families the service exposes, with their type and labels', async () => {
      // Exercise every family: an expired session, an overflow, an unmatched stop, 100 and 200.
      await svc.postSigned(pushStart({ streamId: 'x', sequence: '9', eventTime: T0 / 1000 }));
      svc.clock.advance(svc.config.sessionMaxAgeSeconds * 1000 + 1);
      await svc.app.receiver.sweep();
      const s = Math.floor(svc.clock.now() / 1000);
      await svc.postSigned(pushStart({ streamId: 'a', sequence: '1', eventTime: s }));
      await svc.postSigned(pushStart({ streamId: 'b', sequence: '2', eventTime: s }));
      await svc.postSigned(pushException({ streamId: 'a', sequence: '1', dataTimeMs: svc.clock.now() }));
      await svc.postSigned(pushStop({ streamId: 'a', sequence: '1', eventTime: s + 9 }));
      await svc.postSigned(pushStop({ streamId: 'c', sequence: '3', eventTime: s + 9 }));
      await svc.postSigned(recordFile({ streamId: 'a', eventTime: s }));
      await svc.postSigned(snapshot({ streamId: 'a', eventTime: s }));
      const text = (await svc.scrape()).text;
      const exposed = new Map<string, { type: string; labels: Set<string> }>();
      for (const [, name, type] of text.matchAll(/^# TYPE (tencent_live_\w+) (\w+)$/gm)) {
        exposed.set(name!, { type: type!, labels: new Set() });
      }
      for (const [, name, labels] of text.matchAll(
        /^(tencent_live_\w+?)(?:_bucket|_sum|_count)?\{([^}]*)\}/gm,
      )) {
        const family = exposed.get(name!) ?? exposed.get(name!.replace(/_(bucket|sum|count)$/, ''));
        for (const [, label] of labels!.matchAll(/(\w+)="/g)) if (label !== 'le') family?.labels.add(label!);
      }
      const rows = table('metric');
      assert.deepEqual(rows.map(([name]) => unquote(name!)).sort(), [...exposed.keys()].sort());
      for (const [name, type, labels] of rows) {
        const family = exposed.get(unquote(name!))!;
        assert.equal(type, family.type, `${name} type`);
        const documented = labels!
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean);
        assert.deepEqual(documented.sort(), [...family.labels].sort(), `${name} labels`);
      }
    });
  });
});
