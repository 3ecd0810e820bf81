import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { pushException, pushStart, pushStop } from '../../src/traffic/payloads.js';
import { startService, T0, type TestService } from '../helpers/service.js';

let svc: TestService;
before(async () => {
  svc = await startService();
});
after(() => svc.close());

test("`promtool check metrics` passes on the service's own families", async () => {
  const s = T0 / 1000;
  await svc.postSigned(pushStart({ streamId: 'a"b\\c', sequence: '1', eventTime: s }));
  await svc.postSigned(pushException({ streamId: 'a"b\\c', sequence: '1', dataTimeMs: T0 }));
  await svc.postSigned(pushStart({ streamId: 'x', sequence: '2', eventTime: s }));
  await svc.postSigned(pushStop({ streamId: 'x', sequence: '2', eventTime: s + 100, errcode: 77 }));
  await svc.post('{bad');
  const text = (await svc.scrape()).text;
  assert.match(text, /^tencent_live_push_exceptions_total\{/m);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool must be installed (Debian package prometheus)');
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
});
