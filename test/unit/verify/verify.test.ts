import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sign, signPayload, DEFAULT_SIGNATURE_VALIDITY_SECONDS } from '../../../src/verify/sign.js';
import { checkSignature, isUnsigned, readT, type SignaturePolicy } from '../../../src/verify/verify.js';

// md5("k1" + "1545030873"), computed outside this code base: `printf k11545030873 | md5sum`.
const K1_VECTOR = '0f5f3ef30c663955f4a4840514c897a6';
const T = 1_545_030_873;
const SKEW = 60;
const AHEAD = 3600;
const policy: SignaturePolicy = { keys: ['k1'], clockSkewSeconds: SKEW, maxAheadSeconds: AHEAD };

/** A body signed with `key` for expiry `t`; `now` defaults to a moment well inside the window. */
function check(body: Record<string, unknown>, now = T - 600, p: SignaturePolicy = policy) {
  return checkSignature(body, p, now);
}

describe('sign', () => {
  it('is md5(key + t) in lower-case hex (known vector), for t as number and as string', () => {
    assert.equal(sign('k1', T), K1_VECTOR);
    assert.equal(sign('k1', String(T)), K1_VECTOR);
    assert.notEqual(sign('k2', T), K1_VECTOR);
    assert.notEqual(sign('k1', T + 1), K1_VECTOR);
  });

  it('signPayload adds t = floor(now) + 600 and its sign, keeps the payload and does not mutate it', () => {
    const payload = { event_type: 1, stream_id: 's' };
    const signed = signPayload(payload, 'k1', T - 600 + 0.9);
    assert.equal(DEFAULT_SIGNATURE_VALIDITY_SECONDS, 600);
    assert.deepEqual(signed, { event_type: 1, stream_id: 's', t: T, sign: K1_VECTOR });
    assert.deepEqual(payload, { event_type: 1, stream_id: 's' });
    assert.equal(signPayload(payload, 'k1', 100, 30).t, 130);
  });
});

describe('readT', () => {
  it('accepts non-negative safe integers and decimal strings (spaces allowed)', () => {
    assert.equal(readT(T), T);
    assert.equal(readT(0), 0);
    assert.equal(readT(String(T)), T);
    assert.equal(readT(`  ${T}\t`), T);
  });

  it('refuses everything else', () => {
    for (const value of [
      -1,
      1.5,
      NaN,
      Infinity,
      2 ** 53,
      '-1',
      '1.5',
      '1e9',
      '0x10',
      'abc',
      '',
      ' ',
      null,
      {},
      [T],
    ])
      assert.equal(readT(value), undefined, JSON.stringify(value));
    assert.equal(readT('1234567890123'), undefined, 'more than 12 digits');
  });
});

describe('isUnsigned', () => {
  it('is true only when neither t nor sign is present', () => {
    assert.equal(isUnsigned({ event_type: 314 }), true);
    assert.equal(isUnsigned({ t: T }), false);
    assert.equal(isUnsigned({ sign: K1_VECTOR }), false);
    assert.equal(isUnsigned({ t: T, sign: K1_VECTOR }), false);
  });
});

describe('checkSignature', () => {
  it('accepts a good signature with t as a number, a numeric string, and a string with spaces', () => {
    assert.equal(check({ t: T, sign: K1_VECTOR }), undefined);
    assert.equal(check({ t: String(T), sign: K1_VECTOR }), undefined);
    assert.equal(check({ t: ` ${T} `, sign: K1_VECTOR }), undefined);
  });

  it('reports missing_signature when t or sign is absent, null or t is empty', () => {
    assert.equal(check({ sign: K1_VECTOR }), 'missing_signature');
    assert.equal(check({ t: T }), 'missing_signature');
    assert.equal(check({}), 'missing_signature');
    assert.equal(check({ t: null, sign: K1_VECTOR }), 'missing_signature');
    assert.equal(check({ t: '', sign: K1_VECTOR }), 'missing_signature');
    assert.equal(check({ t: T, sign: null }), 'missing_signature');
  });

  it('reports bad_signature for a non-numeric, negative or fractional t', () => {
    for (const t of ['abc', '15450x0873', -T, T + 0.5, '1.5e9', true, [T], { t: T }])
      assert.equal(check({ t, sign: K1_VECTOR }), 'bad_signature', JSON.stringify(t));
  });

  it('reports bad_signature for a sign of the wrong length, non-hex, or not a string', () => {
    assert.equal(check({ t: T, sign: K1_VECTOR.slice(0, 31) }), 'bad_signature');
    assert.equal(check({ t: T, sign: K1_VECTOR + '0' }), 'bad_signature');
    assert.equal(check({ t: T, sign: 'g' + K1_VECTOR.slice(1) }), 'bad_signature');
    assert.equal(check({ t: T, sign: '' }), 'bad_signature');
    assert.equal(check({ t: T, sign: 12345 }), 'bad_signature');
    // Same length in UTF-16 but not in bytes: must not reach timingSafeEqual with unequal lengths.
    assert.equal(check({ t: T, sign: 'é'.repeat(32) }), 'bad_signature');
  });

  it('accepts upper-case hex and surrounding spaces in sign', () => {
    assert.equal(check({ t: T, sign: K1_VECTOR.toUpperCase() }), undefined);
    assert.equal(check({ t: T, sign: ` ${K1_VECTOR} ` }), undefined);
  });

  it('reports bad_signature for a signature made with another key, or for another t', () => {
    assert.equal(check({ t: T, sign: sign('k2', T) }), 'bad_signature');
    assert.equal(check({ t: T + 1, sign: K1_VECTOR }), 'bad_signature');
  });

  it('answers the same for a t seen before (cached), for each key list, and past the cache size', () => {
    const other: SignaturePolicy = { ...policy, keys: ['k2'] };
    for (let round = 0; round < 2; round++) {
      assert.equal(check({ t: T, sign: K1_VECTOR }), undefined);
      assert.equal(check({ t: T, sign: K1_VECTOR }, T - 600, other), 'bad_signature');
      assert.equal(check({ t: T, sign: sign('k2', T) }, T - 600, other), undefined);
      assert.equal(check({ t: T, sign: sign('k2', T) }), 'bad_signature');
    }
    // More distinct t values than the cache holds: every answer still right, also for t seen long ago.
    for (let i = 0; i < 2500; i++) {
      const t = T - 3000 + i;
      assert.equal(check({ t, sign: sign('k1', t) }, t - 600), undefined);
      assert.equal(check({ t, sign: sign('k1', t + 1) }, t - 600), 'bad_signature');
    }
    assert.equal(check({ t: T, sign: K1_VECTOR }), undefined);
  });

  it('accepts any configured key: the old key stays valid during a rotation', () => {
    const rotating: SignaturePolicy = { ...policy, keys: ['new-key', 'k1'] };
    assert.equal(check({ t: T, sign: K1_VECTOR }, T - 600, rotating), undefined);
    assert.equal(check({ t: T, sign: sign('new-key', T) }, T - 600, rotating), undefined);
    assert.equal(check({ t: T, sign: sign('other', T) }, T - 600, rotating), 'bad_signature');
    const noKeys: SignaturePolicy = { ...policy, keys: [] };
    assert.equal(check({ t: T, sign: K1_VECTOR }, T - 600, noKeys), 'bad_signature');
  });

  it('expiry edge: t + skew == now is accepted, t + skew == now - 1 is expired', () => {
    const body = { t: T, sign: K1_VECTOR };
    assert.equal(check(body, T), undefined);
    assert.equal(check(body, T + SKEW), undefined);
    assert.equal(check(body, T + SKEW + 1), 'expired');
    const noSkew: SignaturePolicy = { ...policy, clockSkewSeconds: 0 };
    assert.equal(check(body, T, noSkew), undefined);
    assert.equal(check(body, T + 1, noSkew), 'expired');
  });

  it('not_yet_valid edge: t == now + maxAhead is accepted, one second more is refused', () => {
    const body = { t: T, sign: K1_VECTOR };
    assert.equal(check(body, T - AHEAD), undefined);
    assert.equal(check(body, T - AHEAD - 1), 'not_yet_valid');
  });

  it('reports a bad signature before expiry or validity window: a forged body learns nothing about t', () => {
    const forged = { t: T, sign: sign('attacker', T) };
    assert.equal(check(forged, T + SKEW + 1000), 'bad_signature');
    assert.equal(check(forged, T - AHEAD - 1000), 'bad_signature');
  });
});
