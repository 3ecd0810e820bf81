import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startService, type TestService } from '../helpers/service.js';

const dir = new URL('../../../shared/fixtures/tencent-docs/', import.meta.url);
/** What each of Tencent's documented samples becomes when it arrives signed. */
const EXPECTED: Record<string, { event: string; outcome: string }> = {
  'legacy-bestpractice-push-1.json': { event: 'push_start', outcome: 'accepted' },
  // The same stream and sequence as the legacy sample: the same event, so a duplicate.
  'stream-push-1-en-2024.json': { event: 'push_start', outcome: 'duplicate' },
  'push-exception-321-en-2023.json': { event: 'push_exception', outcome: 'accepted' },
  'legacy-bestpractice-record-100.json': { event: 'record', outcome: 'accepted' },
  // The same stream and file_id as the legacy sample.
  'record-100-en.json': { event: 'record', outcome: 'duplicate' },
  'legacy-bestpractice-snapshot-200.json': { event: 'snapshot', outcome: 'accepted' },
  'snapshot-200-en.json': { event: 'snapshot', outcome: 'accepted' },
  'porn-317-en.json': { event: 'other', outcome: 'ignored' },
  'relay-314-TaskExit.json': { event: 'other', outcome: 'ignored' },
  'relay-314-TaskStart.json': { event: 'other', outcome: 'ignored' },
  'relay-314-VodSourceFileFinish.json': { event: 'other', outcome: 'ignored' },
  'relay-314-VodSourceFileStart.json': { event: 'other', outcome: 'ignored' },
};

describe("Tencent's documented samples, signed, through HTTP", () => {
  let svc: TestService;
  before(async () => {
    svc = await startService();
  });
  after(() => svc.close());

  test('every fixture has an expectation', () => {
    assert.deepEqual(readdirSync(dir).sort(), Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED)) {
    test(`${file} → 200, ${expected.event} ${expected.outcome}`, async () => {
      const payload = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Record<string, unknown>;
      delete payload['t'];
      delete payload['sign'];
      const before = (await svc.scrape()).get('tencent_live_callbacks_total', expected) ?? 0;
      const reply = await svc.postSigned(payload);
      assert.deepEqual(reply, { status: 200, body: { code: 0 } });
      assert.equal((await svc.scrape()).get('tencent_live_callbacks_total', expected), before + 1);
    });
  }

  test('the padded stream_id of the legacy sample is trimmed into the labels', async () => {
    const m = await svc.scrape();
    assert.equal(
      m.get('tencent_live_stream_up', {
        domain: 'test.domain.com',
        app_name: 'live',
        stream_id: 'test_stream',
      }),
      1,
    );
    assert.equal(
      m.get('tencent_live_recordings_total', { domain: '', app_name: '' }),
      1,
      'legacy 100 has no app',
    );
    assert.equal(m.get('tencent_live_screenshots_total', { domain: 'test.app', app_name: 'live' }), 1);
  });
});
