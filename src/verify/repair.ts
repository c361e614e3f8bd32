import type { PhaseState } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import { parseKeyId } from '../core/keys.js';
import { PHASE_RULES } from '../core/phases.js';
import { chunked } from '../core/collections.js';
import type { Fence, Store } from '../core/store.js';
import { classify, newFindings } from './findings.js';
import { settle } from './recheck.js';
import { verifySide } from './sides.js';
import type { RepairReport, VerifyOptions } from './verify-options.js';

const BATCH = 500;

/**
 * Re-syncs `keyIds` from the store authoritative under `state` into the
 * other one (sync by key, under its key locks: docs/decisions/0003), old's
 * entities through `transform` when copying old → new, then compares them again.
 */
export async function repairKeys<K extends Key, E extends object>(
  state: PhaseState,
  keyIds: readonly string[],
  stores: { readonly old: Store<K, E>; readonly new: Store<K, E> },
  options: Pick<
    VerifyOptions<E>,
    'ignoreFields' | 'transform' | 'signal' | 'maxKeys' | 'rechecks' | 'recheckDelayMs'
  > & { readonly fence?: Fence },
): Promise<RepairReport> {
  const started = Date.now();
  const fromOld = PHASE_RULES[state.phase].authoritative === 'old';
  const source = fromOld ? stores.old : stores.new;
  const target = fromOld ? stores.new : stores.old;
  const transform = fromOld ? options.transform : undefined;
  const signal = options.signal;
  for (const batch of chunked(keyIds, BATCH)) {
    const keys = batch.map((id) => parseKeyId(id) as K);
    await target.syncMany(
      keys,
      async (ks) => {
        const values = await source.getMany(ks, { signal });
        return Promise.all(values.map(async (v) => (v === undefined || !transform ? v : transform(v))));
      },
      { signal, fence: options.fence },
    );
  }
  // Compare again; a key still differing is read once more after a delay (a live write may be in flight).
  const ignore = new Set(options.ignoreFields ?? []);
  const sides = {
    old: verifySide('old', stores.old, { ignore, pushdown: false, transform: options.transform }),
    new: verifySide('new', stores.new, { ignore, pushdown: false }),
  };
  const findings = newFindings();
  for (const batch of chunked(keyIds, BATCH)) {
    const keys = batch.map((id) => parseKeyId(id) as K);
    const [olds, news] = await Promise.all([sides.old.getMany(keys, { signal }), sides.new.getMany(keys, { signal })]);
    batch.forEach((id, i) => {
      const c = classify(olds[i], news[i], ignore);
      if (c) findings.candidates.set(id, c);
    });
  }
  const settled = await settle(sides, findings, {
    ignore,
    rechecks: options.rechecks ?? 2,
    delayMs: options.recheckDelayMs ?? 1000,
    minAgeMs: undefined,
    ranged: false,
    signal,
  });
  const still = [...settled.real.keys()];
  return {
    direction: fromOld ? 'old-to-new' : 'new-to-old',
    keys: keyIds.length,
    repaired: keyIds.length - still.length,
    stillDifferent: { total: still.length, keys: still.slice(0, options.maxKeys ?? 100) },
    durationMs: Date.now() - started,
  };
}
