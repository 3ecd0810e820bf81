import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '../../../src/events/table.js';
import { normalizeTopLevel, ValidationFailure } from '../../../src/validate/validate.js';

// Verbatim samples from Tencent's documentation and the source pages, kept next to the repository (/work/shared).
const SHARED = new URL('../../../../shared/', import.meta.url);
const FIXTURES = new URL('fixtures/tencent-docs/', SHARED);
const SEEDS = new URL('seeds/', SHARED);

/** Kinds Tencent sends that this service acknowledges without processing (PROTOCOL.md §3). */
const IGNORED = new Set([314, 317]);
const KIND_NAME: Record<number, string> = {
  0: 'push_stop',
  1: 'push_start',
  100: 'record',
  200: 'snapshot',
  321: 'push_exception',
};

/** What the receiver does with a parsed sample: normalise, route by event_type, validate. */
function route(sample: unknown): { eventType: number; result: unknown; normalized: Record<string, unknown> } {
  assert.equal(typeof sample, 'object');
  const normalized = normalizeTopLevel(sample as Record<string, unknown>);
  const eventType = Number(normalized['event_type']);
  assert.ok(Number.isInteger(eventType), 'event_type is an integer');
  const kind = EVENT_KINDS.get(eventType);
  if (!kind) {
    assert.ok(IGNORED.has(eventType), `event_type ${eventType} is neither routed nor a known ignored kind`);
    return { eventType, result: undefined, normalized };
  }
  assert.equal(kind.name, KIND_NAME[eventType]);
  const result = kind.validate(normalized);
  assert.ok(
    !(result instanceof ValidationFailure),
    result instanceof ValidationFailure ? result.message : 'valid',
  );
  return { eventType, result, normalized };
}

/** JSON samples embedded in the seed pages: fenced code blocks, and raw lines that start with `{"`. */
function seedSamples(): { file: string; text: string }[] {
  const samples: { file: string; text: string }[] = [];
  for (const file of readdirSync(SEEDS)
    .filter((name) => name.endsWith('.txt'))
    .sort()) {
    const page = readFileSync(new URL(file, SEEDS), 'utf8');
    for (const match of page.matchAll(/```[A-Za-z]*\n([\s\S]*?)```/g))
      samples.push({ file, text: match[1]! });
    for (const line of page.split('\n')) if (line.startsWith('{"')) samples.push({ file, text: line.trim() });
  }
  return samples;
}

describe('Tencent documentation fixtures', () => {
  const files = readdirSync(FIXTURES)
    .filter((name) => name.endsWith('.json'))
    .sort();

  it('are all there (guards against an empty or moved directory)', () => {
    assert.equal(files.length, 12);
  });

  for (const file of files) {
    it(`${file} parses and validates against its kind's schema, or is an ignored kind`, () => {
      route(JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')));
    });
  }

  it('routes 7 fixtures to a schema and acknowledges the 5 relay/moderation ones unprocessed', () => {
    const types = files.map((f) => route(JSON.parse(readFileSync(new URL(f, FIXTURES), 'utf8'))).eventType);
    assert.deepEqual(
      types.filter((t) => EVENT_KINDS.has(t)).sort((a, b) => a - b),
      [1, 1, 100, 100, 200, 200, 321],
    );
    assert.deepEqual(types.filter((t) => IGNORED.has(t)).sort(), [314, 314, 314, 314, 317]);
  });

  it('normalises the spaces of the legacy samples (" test_stream", channel_id " stream_name")', () => {
    const push = route(
      JSON.parse(readFileSync(new URL('legacy-bestpractice-push-1.json', FIXTURES), 'utf8')),
    );
    assert.equal((push.result as { stream_id: string }).stream_id, 'test_stream');
    assert.equal((push.result as { errcode: number }).errcode, 0);
    const shot = route(
      JSON.parse(readFileSync(new URL('legacy-bestpractice-snapshot-200.json', FIXTURES), 'utf8')),
    );
    assert.equal(shot.normalized['channel_id'], 'stream_name');
    // Legacy screenshots carry no app/appname: the labels default to empty strings.
    assert.deepEqual(
      [(shot.result as { app: string }).app, (shot.result as { appname: string }).appname],
      ['', ''],
    );
  });
});

describe('JSON samples embedded in the seed pages', () => {
  const samples = seedSamples();

  it('are found: one per page (000, 001, 003 fenced JSON; 004 fenced; 002 a raw line)', () => {
    assert.deepEqual(
      samples.map((s) => s.file.slice(0, 3)),
      ['000', '001', '002', '003', '004'],
    );
  });

  for (const sample of samples.filter((s) => !s.file.startsWith('002'))) {
    it(`${sample.file}: the sample parses and validates`, () => {
      const { eventType, result } = route(JSON.parse(sample.text));
      assert.ok(EVENT_KINDS.has(eventType), 'the seed samples are all processed kinds');
      assert.notEqual(result, undefined);
    });
  }

  it('002 (current English 321 page): the sample is not valid JSON (missing comma after user_ip)', () => {
    const sample = samples.find((s) => s.file.startsWith('002'));
    assert.ok(sample);
    assert.throws(() => JSON.parse(sample.text), SyntaxError);
    // Only that comma is wrong: once it is added, the sample is a valid 321 with t and sign.
    const repaired = sample.text.replace('"user_ip":"1.1.1.1""data_time"', '"user_ip":"1.1.1.1","data_time"');
    assert.notEqual(repaired, sample.text);
    const { eventType, normalized } = route(JSON.parse(repaired));
    assert.equal(eventType, 321);
    assert.equal(normalized['t'], 1754623810);
  });
});
