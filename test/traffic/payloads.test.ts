import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  pushException,
  pushStart,
  pushStop,
  recordFile,
  sequenceFor,
  snapshot,
} from '../../src/traffic/payloads.js';
import { signPayload } from '../../src/verify/sign.js';

// Verbatim samples from Tencent's documentation, kept next to the repository (/work/shared).
const FIXTURES = new URL('../../../shared/fixtures/tencent-docs/', import.meta.url);
const KEY = 'abcdefghijklmnop0123456789';
const NOW = 1_700_000_000;

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Record<string, unknown>;
}

function typeOf(value: unknown): string {
  return Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
}

/** key → value type, sorted by key. */
function shape(object: object): Record<string, string> {
  return Object.fromEntries(
    Object.entries(object)
      .map(([k, v]): [string, string] => [k, typeOf(v)])
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Same key set and value types as the sample, plus the `extras` a builder adds on purpose (with a source). */
function assertSameShape(built: object, sample: object, extras: Record<string, string> = {}): void {
  const expected = Object.fromEntries(
    Object.entries({ ...shape(sample), ...extras }).sort(([a], [b]) => a.localeCompare(b)),
  );
  assert.deepEqual(shape(built), expected);
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

describe('payload builders match the shape of Tencent samples', () => {
  it('pushStart has the keys and value types of stream-push-1-en-2024 (+ undocumented idc_id)', () => {
    const built = signPayload(pushStart({ eventTime: NOW }), KEY, NOW);
    // idc_id: seen in real captures, undocumented (PROTOCOL.md §3.1).
    assertSameShape(built, fixture('stream-push-1-en-2024.json'), { idc_id: 'number' });
    assert.equal(built.event_type, 1);
    assert.match(built.sequence, /^\d{18,19}$/);
    assert.equal(typeof built.appid, 'number');
  });

  it('pushStop is the push sample with event_type 0, errcode/errmsg and push_duration as a string of ms', () => {
    const built = signPayload(pushStop({ eventTime: NOW, startedAt: NOW - 90, errcode: 4 }), KEY, NOW);
    assertSameShape(built, fixture('stream-push-1-en-2024.json'), {
      idc_id: 'number',
      push_duration: 'string',
    });
    assert.equal(built.event_type, 0);
    assert.equal(built.errcode, 4);
    assert.equal(built.errmsg, 'recv() return error');
    assert.equal(built.push_duration, '90000');
  });

  it('pushException has the keys of push-exception-321-en-2023 (+ user_ip, t, sign of the current page)', () => {
    const built = signPayload(
      pushException({ eventTime: NOW, exceptions: [{ type: 6, count: 2 }] }),
      KEY,
      NOW,
    );
    const sample = fixture('push-exception-321-en-2023.json');
    // The current English page (seed 002) adds user_ip, t and sign at the top level, and event_key and
    // customer_visible to each abnormal event.
    assertSameShape(built, sample, { user_ip: 'string', t: 'number', sign: 'string' });
    const sampleEvent = (sample.abnormal_event as object[])[0] as Record<string, unknown>;
    const builtEvent = built.abnormal_event[0];
    assert.ok(builtEvent);
    assertSameShape(builtEvent, sampleEvent, { event_key: 'string', customer_visible: 'string' });
    assertSameShape(builtEvent.detail[0] as object, (sampleEvent.detail as object[])[0] as object);
    assert.equal(built.data_time, NOW * 1000);
    assert.equal(builtEvent.customer_visible, 'true');
  });

  it('recordFile has exactly the keys and value types of record-100-en', () => {
    const built = signPayload(recordFile({ eventTime: NOW, durationSeconds: 100 }), KEY, NOW);
    assertSameShape(built, fixture('record-100-en.json'));
    assert.equal(built.end_time - built.start_time, 100);
    assert.equal(built.callback_ext.startsWith('{'), true);
    assert.doesNotThrow(() => JSON.parse(built.callback_ext));
  });

  it('snapshot has exactly the keys and value types of snapshot-200-en (no appid)', () => {
    const built = signPayload(snapshot({ eventTime: NOW }), KEY, NOW);
    assertSameShape(built, fixture('snapshot-200-en.json'));
    assert.equal('appid' in built, false);
    assert.equal(built.create_time, NOW);
  });
});

describe('payload builders', () => {
  it('sign of a signed payload verifies as md5(key + t)', () => {
    for (const payload of [pushStart(), pushStop(), pushException(), recordFile(), snapshot()]) {
      const signed = signPayload(payload, KEY, NOW);
      assert.equal(signed.t, NOW + 600);
      assert.equal(signed.sign, md5(KEY + String(signed.t)));
      assert.notEqual(signed.sign, md5('other-key' + String(signed.t)));
    }
  });

  it('are pure: same options give deep-equal payloads, and options are honoured', () => {
    const o = {
      domain: 'push.example.com',
      appName: 'app2',
      streamId: 's-1',
      eventTime: NOW,
      sequence: '1234567890123456789',
    };
    assert.deepEqual(pushStart(o), pushStart(o));
    const start = pushStart(o);
    assert.equal(start.app, 'push.example.com');
    assert.equal(start.appname, 'app2');
    assert.equal(start.stream_id, 's-1');
    assert.equal(start.channel_id, 's-1');
    assert.equal(start.sequence, '1234567890123456789');
    assert.equal(start.event_time, NOW);
    const exception = pushException(o);
    assert.equal(exception.domain, 'push.example.com');
    assert.equal(exception.path, 'app2');
    assert.equal(exception.sequence, '1234567890123456789');
  });

  it('a stop without an explicit sequence shares the sequence of the start of the same stream', () => {
    assert.equal(pushStop({ streamId: 'abc' }).sequence, pushStart({ streamId: 'abc' }).sequence);
    assert.notEqual(pushStart({ streamId: 'abc' }).sequence, pushStart({ streamId: 'abd' }).sequence);
  });

  it('pushException keeps count independent of detail length and names unknown types', () => {
    const built = pushException({
      exceptions: [
        { type: 16, count: 40 },
        { type: 77, count: 1 },
      ],
      maxDetails: 3,
    });
    assert.deepEqual(
      built.abnormal_event.map((e) => [e.type, e.count, e.detail.length]),
      [
        [16, 40, 3],
        [77, 1, 1],
      ],
    );
    for (const e of built.abnormal_event) {
      for (const d of e.detail) {
        assert.ok(d.occur_time <= built.data_time && d.occur_time > built.data_time - built.report_interval);
      }
    }
  });

  it('sequenceFor gives deterministic 19-digit strings below 2^63', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const s = sequenceFor(i);
      assert.match(s, /^[1-9]\d{18}$/);
      assert.ok(BigInt(s) < 2n ** 63n);
      seen.add(s);
    }
    assert.equal(seen.size, 2000);
    assert.equal(sequenceFor('stream-7'), sequenceFor('stream-7'));
  });
});
