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

/**
 * The 16 digest bytes as a latin1 ('binary') string, one character per byte. A Buffer digest is an ArrayBuffer of
 * its own, which V8 sweeps in every young-generation collection: a string written into a slice of Node.js's shared
 * pool costs 0.7 µs per digest against 1.4–1.9 µs (docs/performance.md).
 */
const md5Latin1: (text: string) => string = oneShot
  ? (text) => crypto.hash('md5', text, 'binary')
  : (text) => crypto.createHash('md5').update(text).digest('binary');

/** The digest as a 16-byte Buffer (a slice of Node.js's shared pool). */
export function md5Bytes(text: string): Buffer {
  return Buffer.from(md5Latin1(text), 'latin1');
}

/** Writes the 16 digest bytes into `target` at `offset`. */
export function md5Into(text: string, target: Buffer, offset: number): void {
  target.write(md5Latin1(text), offset, 16, 'latin1');
}
