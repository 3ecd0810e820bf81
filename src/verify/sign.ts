import { md5Hex } from '../md5.js';

/**
 * Tencent's callback signature: `sign = MD5(key + t)`, lower-case hex, where `t` is the decimal Unix time (s)
 * at which the signature expires. The signature covers only `t`, never the body
 * (https://cloud.tencent.com/document/product/267/32744). Production verification and every test and tool
 * that sends a callback share this one function.
 */
export function sign(key: string, t: number | string): string {
  return md5Hex(key + String(t));
}

/** Tencent's default validity of a signature: `t` is about send time + 600 s. */
export const DEFAULT_SIGNATURE_VALIDITY_SECONDS = 600;

/** Adds a fresh `t` and `sign` to a payload, as Tencent does before each (re)try. */
export function signPayload<T extends object>(
  payload: T,
  key: string,
  nowSeconds: number,
  validitySeconds = DEFAULT_SIGNATURE_VALIDITY_SECONDS,
): T & { t: number; sign: string } {
  const t = Math.floor(nowSeconds) + validitySeconds;
  return { ...payload, t, sign: sign(key, t) };
}
