import { randomBytes } from 'node:crypto';
import type { Key } from '../core/keys.js';
import type { CallOptions, PairHash } from '../core/store.js';
import type { VerifySide } from './sides.js';

/**
 * The row hash both sides use: the engine's pair hash where both stores hash
 * in one engine's SQL and agree on the shape (docs/decisions/0018), seeded
 * once for the run; the canonical form otherwise. Each side's shape is read
 * from its catalog here, at the start of every run; a column changed later
 * changes the pair hash's bytes (they hold each column's type), so such rows
 * differ and are compared row by row, never passed as equal.
 */
export async function pairSides<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  ignore: ReadonlySet<string>,
  enabled: boolean,
  options?: CallOptions,
): Promise<{ readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> }> {
  const a = pairOf(sides.old);
  const b = pairOf(sides.new);
  if (!enabled || !a || !b) return sides;
  // Reading a shape may fail (no catalog access): the canonical hash still works.
  const [sa, sb] = await Promise.all([a.shape(ignore, options), b.shape(ignore, options)]).catch(
    () => [undefined, undefined] as const,
  );
  if (sa === undefined || sa !== sb) return sides;
  const seed = randomBytes(8).readBigInt64BE();
  return { old: paired(sides.old, a, ignore, seed), new: paired(sides.new, b, ignore, seed) };
}

/** The side's pair hash, where it hashes in its database and its store has one. */
function pairOf<K extends Key, E extends object>(side: VerifySide<K, E>): PairHash<K> | undefined {
  return side.hashing === 'database' ? side.store.hashing?.pairHash : undefined;
}

function paired<K extends Key, E extends object>(
  side: VerifySide<K, E>,
  pair: PairHash<K>,
  ignore: ReadonlySet<string>,
  seed: bigint,
): VerifySide<K, E> {
  return {
    ...side,
    rowHash: 'pair',
    hash: async (range, options) =>
      (await pair.hashParts(range, [], ignore, seed, options))[0] ?? { count: 0, sum: 0n },
    hashParts: (range, splits, options) => pair.hashParts(range, splits, ignore, seed, options),
  };
}
