// Regressions: bugs the unit tests found in src/, each fixed; these keep them fixed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { dedupKeyOf } from '../../src/events/kinds.js';
import { EVENT_KINDS } from '../../src/events/table.js';
import { normalizeTopLevel, ValidationFailure } from '../../src/validate/validate.js';

const validate = (body: Record<string, unknown>) => {
  const payload = normalizeTopLevel(body);
  return EVENT_KINDS.get(Number(payload['event_type']))!.validate(payload);
};

describe('regressions', () => {
  it('an invalid TENCENT_LIVE_CALLBACK_KEYS is named in the error without echoing the keys', () => {
    const secret = 'TopSecretCallbackKey1';
    assert.throws(
      () => loadConfig({ TENCENT_LIVE_CALLBACK_KEYS: `${secret},bad key` }),
      (error: Error) =>
        error instanceof ConfigError &&
        error.message.includes('TENCENT_LIVE_CALLBACK_KEYS') &&
        !error.message.includes(secret),
    );
  });

  it('an empty appname (push path) is accepted', () => {
    const body = { event_type: 1, app: 'd', appname: '', stream_id: 's', sequence: '1', event_time: 1 };
    const result = validate(body);
    assert.ok(!(result instanceof ValidationFailure), (result as ValidationFailure).message);
  });

  it('a snapshot with neither picture URL is told it needs one of them', () => {
    const result = validate({ event_type: 200, stream_id: 's', create_time: 1_622_599_925 });
    assert.ok(result instanceof ValidationFailure);
    assert.deepEqual({ ...result }, { field: '(body)', message: 'needs pic_url or pic_full_url' });
  });

  it('event_type as a numeric string validates for every processed kind', () => {
    for (const body of [
      { event_type: '1', app: 'd', appname: 'live', stream_id: 's', sequence: '1', event_time: 1 },
      { event_type: '321', domain: 'd', stream_id: 's', data_time: 1, abnormal_event: [] },
      { event_type: '100', stream_id: 's', file_id: 'f' },
      { event_type: '200', stream_id: 's', create_time: 1, pic_url: '/x.jpg' },
    ]) {
      const result = validate(body);
      assert.ok(
        !(result instanceof ValidationFailure),
        `${body.event_type}: ${(result as ValidationFailure).message}`,
      );
    }
  });

  it('two screenshots of a stream name under two push domains, in the same second, are two events', () => {
    const snapshot = EVENT_KINDS.get(200)!;
    const shot = (app: string, bucket: string) => {
      const event = validate({
        event_type: 200,
        app,
        appname: 'live',
        stream_id: 'room_1',
        create_time: 1_622_599_925,
        pic_url: '/2021-06-02/room_1-screenshot-10-12-05-640x352.jpg',
        pic_full_url: `https://${bucket}.cos.example.com/2021-06-02/room_1-screenshot-10-12-05-640x352.jpg`,
      });
      assert.ok(!(event instanceof ValidationFailure));
      return dedupKeyOf(snapshot, event);
    };
    assert.notDeepEqual(shot('a.example.com', 'a'), shot('b.example.com', 'b'));
    // Without pic_full_url, only the push domain (or path) tells them apart.
    const relative = (app: string, appname: string) =>
      dedupKeyOf(
        snapshot,
        validate({ event_type: 200, app, appname, stream_id: 's', create_time: 1, pic_url: '/s.jpg' }),
      );
    assert.notDeepEqual(relative('a.example.com', 'live'), relative('b.example.com', 'live'));
    assert.notDeepEqual(relative('a.example.com', 'live'), relative('a.example.com', 'backup'));
    // The same picture of the same push domain is one event (a retry).
    assert.deepEqual(shot('a.example.com', 'a'), shot('a.example.com', 'a'));
    // An empty pic_full_url falls back to pic_url (`||`, not `??`).
    const noFull = (pic_url: string) =>
      dedupKeyOf(
        snapshot,
        validate({ event_type: 200, stream_id: 's', create_time: 1, pic_full_url: '', pic_url }),
      );
    assert.notDeepEqual(noFull('/a.jpg'), noFull('/b.jpg'));
  });

  it('a "__proto__" key in a body whose keys need trimming cannot hide fields from the type check', () => {
    const body = JSON.parse(
      '{"__proto__":{"push_duration":null,"event_time":null},"user_ip ":"x","event_type":0,"app":"d",' +
        '"appname":"live","stream_id":"s","sequence":"1","event_time":1545115790,"errcode":1}',
    ) as Record<string, unknown>;
    const event = validate(body);
    assert.ok(!(event instanceof ValidationFailure), (event as ValidationFailure).message);
    assert.equal((event as { push_duration?: number }).push_duration, undefined);
    assert.equal(Object.getPrototypeOf(event), Object.prototype);
  });
});
