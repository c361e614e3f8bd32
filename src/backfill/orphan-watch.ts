import { keyId, type Key } from '../core/keys.js';
import { scanKeysOf, type Store } from '../core/store.js';

/**
 * What the copy pass learned about keys new holds and old lacks (the prune
 * pass's work), carried in the run's checkpoint so a resumed run keeps it.
 *
 * `checked`: every chunk of the copy pass so far, from the first key, looked
 * at new's keys in its range. `from`: the start (exclusive) of the first
 * range where new held a key the chunk did not read from old; the prune pass
 * need not look before it.
 */
export interface OrphanWatch {
  readonly checked: boolean;
  readonly from?: string | undefined;
}

/** Nothing is known: the prune pass walks all of new. */
export const UNCHECKED: OrphanWatch = Object.freeze({ checked: false });

/**
 * After a sync-mode chunk of `keys` (old's keys in `(after, last]`, in old's
 * order) was written: walks new's keys in the same range in new's order.
 * Resolves how many of them the chunk did not read (candidates for the
 * prune, which checks each one again), or `undefined` when this range cannot
 * vouch for itself: new does not hold `last` in `(after, last]`, so the two
 * stores may order keys differently (collations) and the ranges of
 * successive chunks need not cover new's key space without gaps.
 *
 * Why this is enough (decision 0017): a key new holds and old lacks, with no
 * repair pending, was put there before the run began (a neighbour one phase
 * behind, or data new held already); every write since brings its own sync.
 * Such a key is still in new when its range is walked, after the chunk was
 * synced, so it is counted. Keys written since (in old too) are counted as
 * well and the prune leaves them alone: a candidate is only ever a reason to
 * look again.
 */
export async function orphansInRange<K extends Key, E extends object>(
  target: Store<K, E>,
  keys: readonly K[],
  after: K | undefined,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const last = keys[keys.length - 1];
  if (last === undefined) return 0;
  const read = new Set(keys.map((k) => keyId(k)));
  const lastId = keyId(last);
  let candidates = 0;
  let sawLast = false;
  for await (const chunk of scanKeysOf(target, { after, through: last, chunkSize: keys.length + 64, signal })) {
    for (const k of chunk) {
      const id = keyId(k);
      if (id === lastId) sawLast = true;
      if (!read.has(id)) candidates++;
    }
  }
  return sawLast ? candidates : undefined;
}

/** The watch after one more chunk that started after `after` and found `candidates` (`undefined`: could not tell). */
export function watched(watch: OrphanWatch, after: string | undefined, candidates: number | undefined): OrphanWatch {
  if (!watch.checked || candidates === undefined) return UNCHECKED;
  if (candidates === 0 || watch.from !== undefined) return watch;
  // Candidates in the very first range: the prune starts at the first key, as it would unwatched.
  return after === undefined ? UNCHECKED : { checked: true, from: after };
}

/** Where the prune pass starts, after a copy pass that ended after `lastAfter` (`undefined`: at the first key). */
export function pruneStart(watch: OrphanWatch, lastAfter: string | undefined): string | undefined {
  if (!watch.checked) return undefined;
  return watch.from ?? lastAfter;
}
