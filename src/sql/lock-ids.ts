import crypto from 'node:crypto';

/** One-shot MD5 where Node has it (20.12+), else a Hash object: the same bytes either way. */
const md5: (text: string) => Buffer =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) =>
        (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'buffer'): Buffer }).hash(
          'md5',
          text,
          'buffer',
        )
    : (text) => crypto.createHash('md5').update(text, 'utf8').digest();

/**
 * A signed 64-bit lock id for a key of a table, as decimal text: the first
 * eight bytes of md5(namespace NUL keyId). Stable across processes and
 * machines, so every instance locks the same id for the same key.
 */
export function lockId64(namespace: string, keyId: string): string {
  return md5(`${namespace}\u0000${keyId}`).readBigInt64BE(0).toString();
}
