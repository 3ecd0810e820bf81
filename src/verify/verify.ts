import { timingSafeEqual } from 'node:crypto';
import { sign } from './sign.js';

export type SignatureRejection = 'missing_signature' | 'bad_signature' | 'expired' | 'not_yet_valid';

export interface SignaturePolicy {
  /** Accepted keys; the first is current, the others are accepted during a rotation. Never logged. */
  readonly keys: readonly string[];
  /** A signature stays valid this long after `t` (clock differences between Tencent and us). */
  readonly clockSkewSeconds: number;
  /** A `t` further ahead than this is refused: Tencent signs with t ≈ send time + 600 s. */
  readonly maxAheadSeconds: number;
}

const T_PATTERN = /^\s*\d{1,12}\s*$/;
const SIGN_PATTERN = /^[0-9a-fA-F]{32}$/;

/** `t` is documented as int64 and (legacy pages) as a string: accept both, nothing else. */
export function readT(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string' && T_PATTERN.test(value)) return Number(value);
  return undefined;
}

/** True when the body carries neither `t` nor `sign` (some Tencent event kinds are sent unsigned). */
export function isUnsigned(body: Readonly<Record<string, unknown>>): boolean {
  return body['t'] === undefined && body['sign'] === undefined;
}

/** How many `t` values keep their expected signatures (per key list); the cache starts over beyond it. */
const SIGNATURE_CACHE_SIZE = 1024;
const signatureCache = new WeakMap<readonly string[], Map<number, readonly Buffer[]>>();

/**
 * `md5(key + t)` of every key, remembered for recent `t`: Tencent signs with t = send time + 600 s, so every
 * callback sent in the same second carries the same t, and each would otherwise pay one MD5 per key. Bounded,
 * and computed from our keys only: a sender who varies t only misses the cache.
 */
function expectedSignatures(keys: readonly string[], t: number): readonly Buffer[] {
  let byT = signatureCache.get(keys);
  if (!byT) signatureCache.set(keys, (byT = new Map()));
  let expected = byT.get(t);
  if (!expected) {
    if (byT.size >= SIGNATURE_CACHE_SIZE) byT.clear();
    expected = keys.map((key) => Buffer.from(sign(key, t), 'latin1'));
    byT.set(t, expected);
  }
  return expected;
}

const tMissing = (value: unknown): boolean => value === undefined || value === null || value === '';

/**
 * Which field a signature problem is about, for the answer: `t` when it is missing or unreadable, expired or too
 * far ahead; `sign` when only it is missing, or it does not match.
 */
export function signatureField(
  body: Readonly<Record<string, unknown>>,
  problem: SignatureRejection,
): 't' | 'sign' {
  if (problem === 'missing_signature') return tMissing(body['t']) ? 't' : 'sign';
  if (problem === 'bad_signature') return readT(body['t']) === undefined ? 't' : 'sign';
  return 't';
}

/**
 * Checks `sign == md5(key + t)` for any of the keys, in constant time, then the validity window of `t`.
 * Tencent signs only `t`, not the body (https://cloud.tencent.com/document/product/267/32744), so a captured
 * (t, sign) pair fits any body until `t` passes: the window and de-duplication are the defence.
 * Returns undefined when the signature is good.
 */
export function checkSignature(
  body: Readonly<Record<string, unknown>>,
  policy: SignaturePolicy,
  nowSeconds: number,
): SignatureRejection | undefined {
  const rawT = body['t'];
  const rawSign = body['sign'];
  if (tMissing(rawT) || rawSign === undefined || rawSign === null) return 'missing_signature';
  const t = readT(rawT);
  if (t === undefined || typeof rawSign !== 'string' || !SIGN_PATTERN.test(rawSign.trim()))
    return 'bad_signature';
  const given = Buffer.from(rawSign.trim().toLowerCase(), 'latin1');
  let matched = false;
  // Every key is tried, whatever matched before, so timing does not tell which key is current.
  for (const expected of expectedSignatures(policy.keys, t)) {
    if (timingSafeEqual(expected, given)) matched = true;
  }
  if (!matched) return 'bad_signature';
  if (t + policy.clockSkewSeconds < nowSeconds) return 'expired';
  if (t > nowSeconds + policy.maxAheadSeconds) return 'not_yet_valid';
  return undefined;
}
