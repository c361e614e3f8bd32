import { randomInt } from 'node:crypto';

/**
 * A fresh token for a repair-queue entry: a random positive integer below
 * 2^48, exact in a JS number and in a BIGINT column.
 *
 * @example const seq = repairToken();
 */
export function repairToken(): number {
  return randomInt(1, 2 ** 48);
}
