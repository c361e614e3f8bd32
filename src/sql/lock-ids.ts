import { createHash } from 'node:crypto';

/**
 * A signed 64-bit lock id for a key of a table, as decimal text: the first
 * eight bytes of md5(namespace NUL keyId). Stable across processes and
 * machines, so every instance locks the same id for the same key.
 */
export function lockId64(namespace: string, keyId: string): string {
  return createHash('md5').update(namespace).update('\u0000').update(keyId).digest().readBigInt64BE(0).toString();
}
