import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '../../../src/events/table.js';
import { normalizeTopLevel, ValidationFailure } from '../../../src/validate/validate.js';

/** As the receiver does it: normalise the top level, route by event_type, validate. */
function validate(body: Record<string, unknown>): unknown {
  const payload = normalizeTopLevel(body);
  const kind = EVENT_KINDS.get(Number(payload['event_type']));
  assert.ok(kind, `event_type ${String(payload['event_type'])} is routed`);
  return kind.validate(payload);
}

function valid<T = Record<string, unknown>>(body: Record<string, unknown>): T {
  const result = validate(body);
  assert.ok(
    !(result instanceof ValidationFailure),
    result instanceof ValidationFailure ? result.message : '',
  );
  return result as T;
}

function failure(body: Record<string, unknown>): ValidationFailure {
  const result = validate(body);
  assert.ok(result instanceof ValidationFailure, 'expected a validation failure');
  return result;
}

const stop = () => ({
  app: 'push.example.com',
  appid: 12345678,
  appname: 'live',
  channel_id: 'room_1',
  errcode: 1,
  errmsg: 'recv rtmp deleteStream',
  event_time: 1_545_115_790,
  event_type: 0,
  push_duration: '12000',
  sequence: '6674468118806626493',
  stream_id: 'room_1',
  t: 1_545_116_390,
  sign: '0f5f3ef30c663955f4a4840514c897a6',
});

const snapshot = () => ({
  event_type: 200,
  app: 'push.example.com',
  appname: 'live',
  stream_id: 'room_1',
  create_time: 1_622_599_925,
  pic_url: '/2021-06-02/room_1-screenshot-10-12-05-640x352.jpg',
});

const exception = () => ({
  abnormal_event: [{ count: 2, detail: [], type: 6, type_desc_cn: ' ', type_desc_en: 'x' }],
  appid: 0,
  data_time: 1_670_588_074_971,
  domain: 'push.example.com',
  event_type: 321,
  path: 'live',
  report_interval: 5000,
  sequence: '000000000000000000',
  stream_id: 'room_1',
});

describe('normalizeTopLevel', () => {
  it('trims string values and key names at the top level only', () => {
    const out = normalizeTopLevel({ ' app ': ' d ', stream_id: '\tabc\n', nested: { k: ' v ' }, n: 3 });
    assert.deepEqual(out, { app: 'd', stream_id: 'abc', nested: { k: ' v ' }, n: 3 });
  });

  it('keeps the exact key when both "user_ip" and "user_ip " are present', () => {
    assert.deepEqual(normalizeTopLevel({ 'user_ip ': 'b', user_ip: 'a' }), { user_ip: 'a' });
    assert.deepEqual(normalizeTopLevel({ user_ip: 'a', 'user_ip ': 'b' }), { user_ip: 'a' });
  });

  it('uses channel_id for a missing stream_id, never over a present one', () => {
    assert.equal(normalizeTopLevel({ channel_id: ' c ' })['stream_id'], 'c');
    assert.equal(normalizeTopLevel({ channel_id: 'c', stream_id: 's' })['stream_id'], 's');
  });

  it('does not mutate its input', () => {
    const body = { ' app': ' x ' };
    normalizeTopLevel(body);
    assert.deepEqual(body, { ' app': ' x ' });
  });
});

describe('validation is lenient where Tencent is inconsistent', () => {
  it('coerces numbers sent as strings: push_duration "12000", event_time "1545115790", errcode "3"', () => {
    const event = valid({ ...stop(), push_duration: '12000', event_time: '1545115790', errcode: '3' });
    assert.equal(event['push_duration'], 12000);
    assert.equal(event['event_time'], 1_545_115_790);
    assert.equal(event['errcode'], 3);
  });

  it('coerces numeric strings in 321 (data_time, count, type)', () => {
    const event = valid<{ data_time: number; abnormal_event: { type: number; count: number }[] }>({
      ...exception(),
      data_time: '1670588074971',
      abnormal_event: [{ type: '6', count: '2' }],
    });
    assert.equal(event.data_time, 1_670_588_074_971);
    assert.deepEqual(event.abnormal_event, [{ type: 6, count: 2 }]);
  });

  it('trims spaces around app and stream_id', () => {
    const event = valid({ ...stop(), app: ' push.example.com ', stream_id: ' room_1 ' });
    assert.equal(event['app'], 'push.example.com');
    assert.equal(event['stream_id'], 'room_1');
  });

  it('accepts a key with a trailing space ("user_ip ", "stream_id ")', () => {
    const { stream_id: _s, ...rest } = stop();
    const event = valid({ ...rest, channel_id: undefined, 'stream_id ': 'room_2', 'user_ip ': '1.1.1.1' });
    assert.equal(event['stream_id'], 'room_2');
    assert.equal(event['user_ip'], '1.1.1.1');
  });

  it('accepts a missing appid, appid 0, and extra undocumented keys', () => {
    const { appid: _a, ...noAppid } = stop();
    valid(noAppid);
    valid({ ...stop(), appid: 0 });
    valid({ ...stop(), idc_id: 38, set_id: 2, socre: 99, product_name: 'x', nested: { a: [1] } });
    const { appid: _b, ...noAppid321 } = exception();
    valid({ ...noAppid321, interface: 'general_callback', timeout: 5000, user_ip: '1.1.1.1' });
  });

  it('leaves out an invalid optional number rather than refusing the event (push_duration, appid, sizes)', () => {
    for (const push_duration of [
      '12s',
      -5,
      null,
      true,
      '1e308',
      { ms: 1 },
      '0b101',
      'Infinity',
      '1e999',
      Infinity,
      '',
    ]) {
      const event = valid({ ...stop(), push_duration });
      assert.equal('push_duration' in event, false, `push_duration ${JSON.stringify(push_duration)}`);
    }
    assert.equal('appid' in valid({ ...stop(), appid: 'abc' }), false);
    assert.equal('report_interval' in valid({ ...exception(), report_interval: -1 }), false);
    const recording = valid({
      event_type: 100,
      stream_id: 's',
      file_id: 'f',
      duration: 'x',
      file_size: null,
    });
    assert.equal('duration' in recording || 'file_size' in recording, false);
    assert.equal('width' in valid({ ...snapshot(), width: 'wide' }), false);
  });

  it('keeps a push_duration of months: pushes that run 24/7', () => {
    const days31 = 31 * 86_400_000;
    assert.equal(valid({ ...stop(), push_duration: String(days31) })['push_duration'], days31);
  });

  it('takes identities sent as whole numbers, written exactly', () => {
    const event = valid({ ...stop(), sequence: 123456789, stream_id: 42 });
    assert.equal(event['sequence'], '123456789');
    assert.equal(event['stream_id'], '42');
  });

  it('reads a null push path as empty, as an absent one', () => {
    assert.equal(valid({ ...exception(), path: null })['path'], '');
    assert.equal(valid({ ...stop(), appname: null })['appname'], '');
  });

  it('takes decimal numbers in strings with spaces, a sign or an exponent', () => {
    const event = valid({ ...exception(), abnormal_event: [{ type: ' 6 ', count: '2e0' }] });
    assert.deepEqual(event['abnormal_event'], [{ type: 6, count: 2 }]);
  });

  it('defaults errcode to 0 and 321 path to "" when absent', () => {
    const { errcode: _e, ...noErrcode } = stop();
    assert.equal(valid(noErrcode)['errcode'], 0);
    const { path: _p, ...noPath } = exception();
    assert.equal(valid(noPath)['path'], '');
  });

  it('accepts an identity of exactly 256 characters and non-ASCII identities', () => {
    valid({ ...stop(), stream_id: 'a'.repeat(256) });
    valid({ ...stop(), stream_id: '直播间_1' });
  });
});

describe('validation is strict where it matters, and names the field', () => {
  const cases: [string, () => Record<string, unknown>, string][] = [
    [
      'missing stream_id (and no channel_id)',
      () => {
        const { stream_id: _s, channel_id: _c, ...rest } = stop();
        return rest;
      },
      'stream_id',
    ],
    ['empty app', () => ({ ...stop(), app: '' }), 'app'],
    ['app of spaces only (empty once trimmed)', () => ({ ...stop(), app: '   ' }), 'app'],
    ['stream_id with an inner newline', () => ({ ...stop(), stream_id: 'room\n1' }), 'stream_id'],
    ['stream_id with a control character', () => ({ ...stop(), stream_id: 'room\u00011' }), 'stream_id'],
    ['stream_id with DEL', () => ({ ...stop(), stream_id: 'room\u007f' }), 'stream_id'],
    ['stream_id longer than 256', () => ({ ...stop(), stream_id: 'a'.repeat(257) }), 'stream_id'],
    ['stream_id not a string', () => ({ ...stop(), stream_id: { id: 1 } }), 'stream_id'],
    ['missing sequence', () => ({ ...stop(), sequence: undefined }), 'sequence'],
    ['event_time in ms', () => ({ ...stop(), event_time: 1_545_115_790_000 }), 'event_time'],
    ['event_time not a number', () => ({ ...stop(), event_time: 'yesterday' }), 'event_time'],
    ['errcode fractional', () => ({ ...stop(), errcode: '1.5' }), 'errcode'],
    [
      '321 abnormal_event not an array',
      () => ({ ...exception(), abnormal_event: { type: 6 } }),
      'abnormal_event',
    ],
    ['321 abnormal_event a string', () => ({ ...exception(), abnormal_event: '[]' }), 'abnormal_event'],
    [
      '321 abnormal_event[0].count "abc"',
      () => ({ ...exception(), abnormal_event: [{ type: 6, count: 'abc' }] }),
      'abnormal_event[0].count',
    ],
    [
      '321 abnormal_event[1].count missing',
      () => ({ ...exception(), abnormal_event: [{ type: 6, count: 1 }, { type: 7 }] }),
      'abnormal_event[1].count',
    ],
    [
      '321 abnormal_event[0].count negative',
      () => ({ ...exception(), abnormal_event: [{ type: 6, count: -1 }] }),
      'abnormal_event[0].count',
    ],
    ['321 missing domain', () => ({ ...exception(), domain: undefined }), 'domain'],
    ['321 path with a control character', () => ({ ...exception(), path: 'li\u0000ve' }), 'path'],
    // ajv would coerce these to 0, 1, "" or "true": a start in 1970, a count from a boolean.
    ['event_time null', () => ({ ...stop(), event_time: null }), 'event_time'],
    ['event_time true', () => ({ ...stop(), event_time: true }), 'event_time'],
    ['errcode null', () => ({ ...stop(), errcode: null }), 'errcode'],
    ['321 data_time null', () => ({ ...exception(), data_time: null }), 'data_time'],
    [
      '321 abnormal_event[0].type null',
      () => ({ ...exception(), abnormal_event: [{ type: null, count: 1 }] }),
      'abnormal_event[0].type',
    ],
    [
      '321 abnormal_event[1].count true',
      () => ({
        ...exception(),
        abnormal_event: [
          { type: 6, count: 1 },
          { type: 7, count: true },
        ],
      }),
      'abnormal_event[1].count',
    ],
    ['200 create_time null', () => ({ ...snapshot(), create_time: null }), 'create_time'],
    // A 19-digit sequence sent as a JSON number has lost its last digits in JSON.parse already.
    [
      'sequence a number beyond 2^53',
      () => ({ ...stop(), sequence: JSON.parse('6674468118806626493') as number }),
      'sequence',
    ],
    ['sequence a fraction', () => ({ ...stop(), sequence: 1.5 }), 'sequence'],
    ['stream_id true', () => ({ ...stop(), stream_id: true }), 'stream_id'],
    ['app null', () => ({ ...stop(), app: null }), 'app'],
    // JavaScript reads these as numbers; Tencent writes decimal digits.
    ['errcode "0x1f"', () => ({ ...stop(), errcode: '0x1f' }), 'errcode'],
    ['event_time "0x5c18b5ce"', () => ({ ...stop(), event_time: '0x5c18b5ce' }), 'event_time'],
    ['321 data_time "Infinity"', () => ({ ...exception(), data_time: 'Infinity' }), 'data_time'],
    // Decimal, but past a double: ajv would coerce it to ±Infinity and check no bound on it.
    ['321 data_time "-1e999"', () => ({ ...exception(), data_time: '-1e999' }), 'data_time'],
    ['event_time "1e999"', () => ({ ...stop(), event_time: '1e999' }), 'event_time'],
    [
      '321 count "-1e999"',
      () => ({ ...exception(), abnormal_event: [{ type: 6, count: '-1e999' }] }),
      'abnormal_event[0].count',
    ],
    ['100 without file_id', () => ({ event_type: 100, stream_id: 's' }), 'file_id'],
    // A lone surrogate hashes as U+FFFD: two distinct files or pictures would be one event.
    [
      '100 file_id with a lone surrogate',
      () => ({ event_type: 100, stream_id: 's', file_id: 'f\ud800' }),
      'file_id',
    ],
    [
      '200 pic_full_url with a lone surrogate',
      () => ({ ...snapshot(), pic_full_url: 'http://x/\udfff' }),
      'pic_full_url',
    ],
  ];

  for (const [name, body, field] of cases) {
    it(`${name} → field ${field}`, () => {
      const result = failure(body());
      assert.equal(result.field, field);
      assert.ok(result.message.startsWith(field), result.message);
    });
  }

  it('200 with neither pic_url nor pic_full_url is refused, naming pic_url', () => {
    const result = failure({ event_type: 200, stream_id: 's', create_time: 1_622_599_925 });
    assert.match(result.message, /pic_url/);
    valid({ event_type: 200, stream_id: 's', create_time: 1_622_599_925, pic_full_url: 'http://x/y.jpg' });
  });

  it('says what is wrong with an identity, in words', () => {
    assert.equal(
      failure({ ...stop(), stream_id: 'a\nb' }).message,
      'stream_id must not be empty or contain control characters or unpaired UTF-16 surrogates',
    );
    assert.equal(
      failure({ ...stop(), sequence: 'a b' }).message,
      'sequence must hold only letters, digits, "_", "." and "-"',
    );
    // A surrogate pair is one code point, not a lone surrogate.
    valid({ event_type: 100, stream_id: 's\u{1F600}', file_id: 'f\u{1F600}' });
    const { stream_id: _s, channel_id: _c, ...anonymous } = stop();
    assert.equal(failure(anonymous).message, 'stream_id is required');
  });
});
