import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { Sides } from './full-pass.js';
import { pairSides } from './pair-hash.js';
import { verifySide } from './sides.js';
import type { VerifyOptions } from './verify-options.js';

/** The fields a verification leaves out: those asked, less the key fields (always compared: left out, values swapped between two keys would hash the same). */
export function ignoredFields<K extends Key, E extends object>(
  source: Store<K, E>,
  target: Store<K, E>,
  options: Pick<VerifyOptions<E>, 'ignoreFields'>,
): Set<string> {
  const keyFields = new Set([...(source.keyFields ?? []), ...(target.keyFields ?? [])]);
  return new Set((options.ignoreFields ?? []).filter((f) => !keyFields.has(f)));
}

/** Both sides as a full pass hashes them: in their databases where they can, with the pair hash where both agree. */
export async function fullSides<K extends Key, E extends object>(
  source: Store<K, E>,
  target: Store<K, E>,
  ignore: ReadonlySet<string>,
  options: VerifyOptions<E>,
): Promise<Sides<K, E>> {
  const pushdown = options.pushdown ?? true;
  const sides = {
    old: verifySide('old', source, { ignore, pushdown, transform: options.transform }),
    new: verifySide('new', target, { ignore, pushdown }),
  };
  return pairSides(sides, ignore, options.pairHash ?? true, options);
}
