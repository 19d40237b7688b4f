import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new dataset key: 128 random bits, hex. */
export function newKey(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Keys are stored as SHA-256 hashes. They are random 128-bit values, so a fast hash is enough
 * (there is no low-entropy password to stretch); looking a key up by its hash leaks nothing useful
 * through timing, and direct comparisons go through timingSafeEqual.
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
