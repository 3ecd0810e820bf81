import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { pushException, pushStart } from '../../src/traffic/payloads.js';
import { sign, signPayload } from '../../src/verify/sign.js';
import { KEY, startService, T0, type TestService } from '../helpers/service.js';

const NOW_S = T0 / 1000;
const start = (streamId = 'r1') => pushStart({ streamId, sequence: '5000000000000000001', eventTime: NOW_S });

describe('rejections: status, reason, field and counter', () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(() => svc.close());

  async function expectRejected(
    send: () => Promise<{ status: number; body: { reason?: string; field?: string } }>,
    status: number,
    reason: string,
    field?: string,
  ): Promise<void> {
    const before = (await svc.scrape()).get('tencent_live_callbacks_rejected_total', { reason }) ?? 0;
    const reply = await send();
    assert.equal(reply.status, status);
    assert.equal(reply.body.reason, reason);
    if (field !== undefined) assert.equal(reply.body.field, field);
    const after = (await svc.scrape()).get('tencent_live_callbacks_rejected_total', { reason });
    assert.equal(after, before + 1, `tencent_live_callbacks_rejected_total{reason="${reason}"}`);
  }

  test('malformed JSON → 400 malformed_json (also an empty body and a JSON string)', async () => {
    await expectRejected(() => svc.post('{"event_type":1,'), 400, 'malformed_json', '(body)');
    await expectRejected(() => svc.post(''), 400, 'malformed_json');
    await expectRejected(() => svc.post('"just a string"'), 400, 'malformed_json');
  });

  test('a body the parser cannot read → 400 malformed_json, with a message that says why', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['{"event_type":1}', { 'content-encoding': 'gzip' }, 'could not be decoded as its Content-Encoding'],
      ['{"event_type":1}', { 'content-encoding': 'x-unknown' }, 'Content-Encoding is not supported'],
      ['{"event_type":1,"__proto__":{"x":1}}', {}, '"__proto__" key'],
      ['{"event_type":1,', {}, 'not valid JSON'],
    ];
    for (const [body, headers, message] of cases) {
      let text = '';
      await expectRejected(
        async () => {
          const reply = await fetch(svc.callbackUrl, { method: 'POST', headers, body });
          const answer = (await reply.json()) as { reason?: string; message?: string };
          text = answer.message ?? '';
          return { status: reply.status, body: answer };
        },
        400,
        'malformed_json',
        '(body)',
      );
      assert.ok(text.includes(message), `${JSON.stringify(headers)} ${body}: ${text}`);
    }
  });

  test("Tencent's own English 321 sample (seed 002) is not valid JSON → malformed_json", async () => {
    const seed = readFileSync(
      new URL('../../../shared/seeds/002_4f0fb4364c6b9d42.txt', import.meta.url),
      'utf8',
    );
    const sample = seed.slice(seed.lastIndexOf('{"abnormal_event"')).trim();
    await expectRejected(() => svc.post(sample), 400, 'malformed_json');
  });

  test('a JSON array, or a payload missing the stream identity → 400 invalid_payload naming the field', async () => {
    await expectRejected(() => svc.post('[1,2]'), 400, 'invalid_payload', '(body)');
    const { stream_id: _drop, channel_id: _alsoDrop, ...noStream } = start();
    await expectRejected(() => svc.postSigned(noStream), 400, 'invalid_payload', 'stream_id');
    await expectRejected(() => svc.postSigned({ ...start(), app: '   ' }), 400, 'invalid_payload', 'app');
    await expectRejected(
      () => svc.postSigned({ ...pushException(), abnormal_event: [{ type: 6, count: 'many' }] }),
      400,
      'invalid_payload',
      'abnormal_event[0].count',
    );
    await expectRejected(
      () => svc.postSigned({ ...start(), event_type: 'x' }),
      400,
      'invalid_payload',
      'event_type',
    );
  });

  test('signature problems → 401 with their own reasons', async () => {
    const now = svc.clock.now() / 1000;
    await expectRejected(() => svc.post(start()), 401, 'missing_signature', 't');
    await expectRejected(() => svc.post({ ...start(), t: now + 600 }), 401, 'missing_signature');
    await expectRejected(
      () => svc.post(signPayload(start(), 'wrong-key', now)),
      401,
      'bad_signature',
      'sign',
    );
    await expectRejected(
      () => svc.post({ ...start(), t: 'soon', sign: sign(KEY, 'soon') }),
      401,
      'bad_signature',
    );
    const t = Math.floor(now) - svc.config.clockSkewSeconds - 1;
    await expectRejected(() => svc.post({ ...start(), t, sign: sign(KEY, t) }), 401, 'expired');
    const future = Math.floor(now) + svc.config.signatureMaxAheadSeconds + 1;
    await expectRejected(
      () => svc.post({ ...start(), t: future, sign: sign(KEY, future) }),
      401,
      'not_yet_valid',
    );
  });

  test('`t` as a numeric string, and the old key during a rotation, are accepted', async () => {
    const t = String(Math.floor(svc.clock.now() / 1000) + 600);
    assert.equal((await svc.post({ ...start('r2'), t, sign: sign(KEY, t) })).status, 200);
    assert.equal((await svc.postSigned(start('r3'), 'old-key')).status, 200);
  });

  test('an oversized body → 413 body_too_large', async () => {
    const big = JSON.stringify({ ...start(), padding: 'x'.repeat(svc.config.bodyLimitBytes) });
    await expectRejected(() => svc.post(big), 413, 'body_too_large');
  });

  test('any other method on the callback path → 405, any other path → 404', async () => {
    const before = (await svc.scrape()).get('tencent_live_callbacks_rejected_total', {
      reason: 'method_not_allowed',
    });
    const get = await fetch(svc.callbackUrl);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    const after = (await svc.scrape()).get('tencent_live_callbacks_rejected_total', {
      reason: 'method_not_allowed',
    });
    assert.equal(after, (before ?? 0) + 1);
    for (const path of ['/', '/metrics', '/-/ready', '/callback/extra']) {
      const reply = await fetch(new URL(path, svc.callbackUrl), { method: 'POST', body: '{}' });
      assert.equal(reply.status, 404, path);
      assert.deepEqual(await reply.json(), { code: 404, reason: 'not_found' });
    }
  });

  test('the body is parsed as JSON whatever the Content-Type says', async () => {
    const body = JSON.stringify(signPayload(start('r4'), KEY, svc.clock.now() / 1000));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const reply = await fetch(svc.callbackUrl, { method: 'POST', headers: { 'content-type': type }, body });
      assert.equal(reply.status, 200, type);
    }
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'duplicate' }), 1);
  });

  test('kinds we do not process are acknowledged and counted as ignored; a bad signature is still refused', async () => {
    const relay = JSON.parse(
      readFileSync(
        new URL('../../../shared/fixtures/tencent-docs/relay-314-TaskExit.json', import.meta.url),
        'utf8',
      ),
    ) as object;
    assert.deepEqual(await svc.post(relay), { status: 200, body: { code: 0 } }); // 314 comes unsigned
    assert.equal((await svc.postSigned({ event_type: 99999, anything: true })).status, 200);
    await expectRejected(() => svc.post({ ...relay, t: 1, sign: 'f'.repeat(32) }), 401, 'bad_signature');
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_callbacks_total', { event: 'other', outcome: 'ignored' }), 2);
  });

  test('a store that cannot write → 503 store_unavailable, store_up 0, nothing counted as accepted', async () => {
    const before = await svc.scrape();
    await svc.store.close(); // the real SQLite connection goes away underneath the running service
    await expectRejected(() => svc.postSigned(start('r5')), 503, 'store_unavailable');
    const m = await svc.scrape();
    assert.equal(m.get('tencent_live_state_store_up', { store: 'sqlite' }), 0);
    assert.equal(
      m.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'accepted' }),
      before.get('tencent_live_callbacks_total', { event: 'push_start', outcome: 'accepted' }),
    );
    assert.equal((await fetch(new URL('/-/ready', svc.metricsUrl))).status, 503);
    assert.equal((await fetch(new URL('/-/healthy', svc.metricsUrl))).status, 200);
  });
});
