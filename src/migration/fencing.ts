import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { withTimeout } from './timeout.js';

/**
 * Raises both stores' fences for the migration to `epoch` before a phase
 * change is published: from then on a write issued under an older phase
 * version is refused where it lands (docs/decisions/0007). `required` names
 * the stores whose fence the change cannot do without (the authority's, and
 * both when authority changes hands); a failure on another is reported to
 * `onError` and tolerated — a write that lands there is a sync from the
 * authority, which converges whatever its version.
 */
export async function raiseFences<K extends Key, E extends object>(
  stores: { readonly old: Store<K, E>; readonly new: Store<K, E> },
  migration: string,
  epoch: number,
  required: { readonly old: boolean; readonly new: boolean },
  timeoutMs: number,
  onError: (side: 'old' | 'new', error: unknown) => void,
): Promise<void> {
  await Promise.all(
    (['old', 'new'] as const).map(async (side) => {
      const store = stores[side];
      const fencing = store.fencing;
      if (!fencing) return;
      try {
        await withTimeout(
          (signal) => fencing.raiseFence({ migration, epoch }, { signal }),
          timeoutMs,
          `raise the fence of ${store.name}`,
        );
      } catch (error) {
        if (!required[side]) return onError(side, error);
        throw new MidairError(
          error instanceof MidairError ? error.code : 'UNKNOWN',
          `migration ${migration}: could not raise the fence of the ${side} store (${store.name}) to phase version ${epoch}; nothing changed`,
          { cause: error },
        );
      }
    }),
  );
}
