import crypto from 'node:crypto';

/**
 * One-shot MD5, for the signature and the de-duplication keys: every callback pays for it two or three times.
 * crypto.hash (Node.js ≥ 20.12) digests in one call without a Hash object, about 1.5 times as fast as
 * createHash (docs/performance.md); older 20.x releases fall back to createHash.
 */
const oneShot = typeof crypto.hash === 'function';

export const md5Hex: (text: string) => string = oneShot
  ? (text) => crypto.hash('md5', text, 'hex')
  : (text) => crypto.createHash('md5').update(text).digest('hex');

export const md5Bytes: (text: string) => Buffer = oneShot
  ? (text) => crypto.hash('md5', text, 'buffer') as unknown as Buffer
  : (text) => crypto.createHash('md5').update(text).digest();
