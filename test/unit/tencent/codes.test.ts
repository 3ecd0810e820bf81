import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  ERRCODE_MAX,
  ERRCODE_REASONS,
  EXCEPTION_DESCRIPTIONS,
  EXCEPTION_NAMES,
  errcodeLabels,
  exceptionIndex,
} from '../../../src/tencent/codes.js';

const README = new URL('../../../README.md', import.meta.url);

/** The public interface (helper context / PRODUCT.md), written out independently of src/. */
const EXPECTED_REASONS: Record<string, number[]> = {
  pusher_stopped: [1, 2, 3, 4, 35],
  internal: [5, 9, 10, 11, 24, 38],
  rtmp_content: [6, 23],
  frame_too_large: [7],
  no_data: [8, 20],
  client_network: [12, 13, 14, 15, 16, 17],
  auth: [18],
  third_party_auth: [19],
  api_stopped: [21],
  amf: [33],
  not_played: [37],
  over_limit: [39],
  unknown: [0, 22, 25, 26, 27, 28, 29, 30, 31, 32, 34, 36],
};
const EXPECTED_EXCEPTIONS = [
  'video_timestamp_rollback',
  'audio_timestamp_rollback',
  'video_timestamp_jump',
  'audio_timestamp_jump',
  'chunk_size_too_big',
  'video_frame_interval_too_long',
  'audio_frame_interval_too_long',
  'video_codec_changed',
  'audio_codec_changed',
  'video_missing_codec_header',
  'audio_missing_codec_header',
  'audio_timestamp_interval_too_long',
  'uncommon_codec',
  'video_header_unparseable',
  'video_frame_rate_too_low',
  'gop_too_large',
];

describe('errcode → reason', () => {
  it('maps every errcode 0–39 to exactly one reason class, and uses no code outside 0–39', () => {
    assert.equal(ERRCODE_MAX, 39);
    for (let code = 0; code <= 39; code++) {
      const classes = Object.entries(ERRCODE_REASONS).filter(([, codes]) => codes.includes(code));
      assert.equal(classes.length, 1, `errcode ${code} is in ${classes.length} classes`);
      assert.deepEqual(errcodeLabels(code), { errcode: String(code), reason: classes[0]![0] });
    }
    const all = Object.values(ERRCODE_REASONS).flat();
    assert.equal(all.length, 40);
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });

  it('uses exactly the documented classes', () => {
    assert.deepEqual(ERRCODE_REASONS, EXPECTED_REASONS);
  });

  it('folds anything else into errcode "other", reason "unknown"', () => {
    for (const code of [40, 41, 1000, -1, NaN, Infinity, -Infinity, 1.5, 39.000001])
      assert.deepEqual(errcodeLabels(code), { errcode: 'other', reason: 'unknown' }, String(code));
  });
});

describe('abnormal type → exception', () => {
  it('names types 1–16 with 16 unique snake_case names, and 0 is "other"', () => {
    assert.equal(EXCEPTION_NAMES.length, 17);
    assert.equal(EXCEPTION_NAMES[0], 'other');
    const named = EXCEPTION_NAMES.slice(1);
    assert.deepEqual(named, EXPECTED_EXCEPTIONS);
    assert.equal(new Set(EXCEPTION_NAMES).size, 17);
    for (const name of EXCEPTION_NAMES) assert.match(name, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    assert.equal(EXCEPTION_DESCRIPTIONS.length, EXCEPTION_NAMES.length);
  });

  it('maps types 1–16 to their own index and folds unknown types into "other"', () => {
    for (let type = 1; type <= 16; type++) assert.equal(exceptionIndex(type), type);
    for (const type of [0, 17, 100, -1, 1.5, NaN, Infinity]) {
      assert.equal(exceptionIndex(type), 0, String(type));
      assert.equal(EXCEPTION_NAMES[exceptionIndex(type)], 'other');
    }
  });
});

/** Markdown tables of a document: header cells (lower-cased, without backticks) and body rows. */
function markdownTables(text: string): { header: string[]; rows: string[][] }[] {
  const tables: { header: string[]; rows: string[][] }[] = [];
  const lines = text.split('\n').map((line) => line.trim());
  const cells = (line: string) =>
    line
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((cell) => cell.trim().replace(/`/g, ''));
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith('|') || !/^\|?\s*:?-{3,}/.test(lines[i + 1]!)) continue;
    const header = cells(lines[i]!).map((cell) => cell.toLowerCase());
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.startsWith('|'); j++) rows.push(cells(lines[j]!));
    tables.push({ header, rows });
    i = j - 1;
  }
  return tables;
}

/**
 * The codes listed in a cell, as comma-separated numbers or ranges ("1, 2, 3–5", "12..17"); items with words
 * ("other", "and anything outside 0–39") are prose and ignored.
 */
function codesIn(cell: string): number[] {
  const codes: number[] = [];
  for (const item of cell.split(',')) {
    const match = /^(\d+)(?:\s*(?:–|-|\.\.)\s*(\d+))?$/.exec(item.trim());
    if (!match) continue;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let code = from; code <= to; code++) codes.push(code);
  }
  return codes;
}

/** reason → errcodes, from every table with an `errcode` column and a reason column. */
function errcodeTable(text: string): Map<string, number[]> | undefined {
  let found: Map<string, number[]> | undefined;
  for (const { header, rows } of markdownTables(text)) {
    const codeCol = header.findIndex((h) => /^errcodes?\b/.test(h));
    const reasonCol = header.findIndex((h) => /\breason\b|\bclass\b/.test(h));
    if (codeCol < 0 || reasonCol < 0) continue;
    found ??= new Map();
    for (const row of rows) {
      const reason = row[reasonCol]!.split(/\s/)[0]!;
      found.set(reason, [...(found.get(reason) ?? []), ...codesIn(row[codeCol]!)]);
    }
  }
  return found;
}

/** type → exception name, from every table with an `exception` column and a type column. */
function exceptionTable(text: string): Map<number, string> | undefined {
  let found: Map<number, string> | undefined;
  for (const { header, rows } of markdownTables(text)) {
    const nameCol = header.findIndex((h) => /^exception\b/.test(h));
    const typeCol = header.findIndex((h) => /\btype\b/.test(h));
    if (nameCol < 0 || typeCol < 0 || nameCol === typeCol) continue;
    found ??= new Map();
    for (const row of rows) {
      const types = codesIn(row[typeCol]!);
      if (types.length === 1) found.set(types[0]!, row[nameCol]!.split(/\s/)[0]!);
    }
  }
  return found;
}

function assertErrcodeTableMatches(table: Map<string, number[]>): void {
  const normalized = Object.fromEntries(
    [...table].map(([reason, codes]): [string, number[]] => [reason, [...codes].sort((a, b) => a - b)]),
  );
  const expected = Object.fromEntries(
    Object.entries(ERRCODE_REASONS).map(([reason, codes]): [string, number[]] => [
      reason,
      [...codes].sort((a, b) => a - b),
    ]),
  );
  assert.deepEqual(normalized, expected);
}

function assertExceptionTableMatches(table: Map<number, string>): void {
  assert.deepEqual(
    [...table].sort(([a], [b]) => a - b),
    EXCEPTION_NAMES.slice(1).map((name, i): [number, string] => [i + 1, name]),
  );
}

describe('README tables of codes', () => {
  it('the table readers understand the usual layouts (self-test on a sample document)', () => {
    const sample = [
      '| reason | errcode | meaning |',
      '|---|---|---|',
      ...Object.entries(ERRCODE_REASONS).map(([r, codes]) => `| \`${r}\` | ${codes.join(', ')} | x |`),
      '',
      '| type | `exception` | meaning |',
      '| ---: | :--- | --- |',
      ...EXCEPTION_NAMES.slice(1).map((name, i) => `| ${i + 1} | \`${name}\` | y |`),
      '| any other | `other` | unknown type |',
    ].join('\n');
    assertErrcodeTableMatches(errcodeTable(sample)!);
    assertExceptionTableMatches(exceptionTable(sample)!);
    assert.deepEqual(
      codesIn('12–17, 33, 40..41, and anything outside 0–39'),
      [12, 13, 14, 15, 16, 17, 33, 40, 41],
    );
    // A wrong table is caught.
    const wrong = sample.replace('| 12, 13, 14, 15, 16, 17 |', '| 12, 13 |');
    assert.throws(() => assertErrcodeTableMatches(errcodeTable(wrong)!));
    assert.throws(() => assertExceptionTableMatches(exceptionTable(sample.replace('gop_too_large', 'gop'))!));
  });

  it('README.md lists exactly these errcode classes and exception names', () => {
    const text = readFileSync(README, 'utf8');
    const errcodes = errcodeTable(text);
    const exceptions = exceptionTable(text);
    assert.ok(errcodes, 'README.md has a table with errcode and reason columns');
    assert.ok(exceptions, 'README.md has a table with type and exception columns');
    assertErrcodeTableMatches(errcodes);
    assertExceptionTableMatches(exceptions);
  });
});
