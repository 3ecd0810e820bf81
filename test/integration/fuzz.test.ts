import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { pushException, pushStart, pushStop, recordFile, snapshot } from '../../src/traffic/payloads.js';
import { signPayload } from '../../src/verify/sign.js';
import { KEY, startService, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService();
});
after(() => svc.close());

const ALLOWED = new Set([200, 400, 401]);
const templates = [pushStart(), pushStop(), pushException(), recordFile(), snapshot()] as unknown as Record<
  string,
  unknown
>[];

/** A real payload with some fields replaced by arbitrary JSON, or arbitrary keys added. */
const mutated = fc
  .record({
    template: fc.constantFrom(...templates),
    replace: fc.dictionary(fc.constantFrom(...Object.keys(Object.assign({}, ...templates))), fc.jsonValue()),
    extra: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
  })
  .map(({ template, replace, extra }) => ({ ...extra, ...template, ...replace }));

test('arbitrary signed bodies never crash the service: a bounded answer with a reason, counted', async () => {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutated, fc.jsonValue()), async (value) => {
      const body =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? signPayload(value, KEY, svc.clock.now() / 1000)
          : value;
      const reply = await svc.post(JSON.stringify(body));
      sent++;
      assert.ok(
        ALLOWED.has(reply.status),
        `status ${reply.status} for ${JSON.stringify(body).slice(0, 300)}`,
      );
      if (reply.status !== 200) assert.equal(typeof reply.body.reason, 'string');
      else assert.deepEqual(reply.body, { code: 0 });
    }),
    { numRuns: 300, seed: 20261122 },
  );
  const m = await svc.scrape();
  let total = 0;
  for (const value of m.family('tencent_live_callbacks_total').values()) total += value;
  assert.equal(total, sent, 'every callback is counted once in tencent_live_callbacks_total');
});

test('arbitrary bytes are malformed_json, never a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (text) => {
      const reply = await svc.post(text, { 'content-type': 'application/octet-stream' });
      assert.ok(
        reply.status === 400 || reply.status === 401 || reply.status === 200,
        `status ${reply.status}`,
      );
    }),
    { numRuns: 200, seed: 7 },
  );
  assert.equal((await fetch(new URL('/-/healthy', svc.metricsUrl))).status, 200);
});
