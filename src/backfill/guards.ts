import type { ControlStore } from '../control/control-store.js';
import { REPAIR_DIRECTIONS } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import { PHASE_RULES, type Phase } from '../core/phases.js';
import { hasManyOf, scanKeysOf, type Store } from '../core/store.js';
import { percent } from '../core/format.js';

/**
 * The guards on every step of a backfill that could delete: a backfill, a
 * sweep or a prune never deletes what the authoritative store holds, never
 * deletes a key with a repair pending, and never deletes more than a small
 * share of new without being told to.
 */

/** What a run is about to do. `backfill` copies and prunes (it deletes); `sweep` only copies what new lacks. */
export type RunKind = 'backfill' | 'sweep';

/** The default share of new a prune may delete without `allowDeletes`. */
export const DEFAULT_MAX_DELETE_SHARE = 0.01;

/**
 * Why a run of `kind` may not run in `phase`, or `undefined` when it may.
 * A backfill needs old authoritative and new receiving every write
 * (dual-write to ramp); where new is authoritative its prune would delete
 * acknowledged writes, so only a sweep runs there, in a mode that cannot delete.
 */
export function refusalInPhase(migration: string, phase: Phase, kind: RunKind): string | undefined {
  if (phase === 'old-only')
    return `migration ${migration} is in old-only: a ${kind} runs from dual-write on (live writes must reach new while it copies)`;
  if (phase === 'complete')
    return `migration ${migration} is in complete: old is no longer kept, there is nothing to ${kind === 'sweep' ? 'sweep' : 'backfill'} from`;
  if (kind === 'backfill' && PHASE_RULES[phase].authoritative === 'new') {
    return (
      `migration ${migration} is in ${phase}, where new is authoritative: a backfill there would delete acknowledged writes new holds and old lacks; ` +
      'run `midair sweep` (migration.sweep()) to copy only what new still lacks, never over a delete'
    );
  }
  return undefined;
}

/** The refusal as an error, read from the control store's current phase (`INVALID_ARGUMENT`: nothing was written). */
export async function phaseRefusal(
  control: ControlStore,
  migration: string,
  kind: RunKind,
): Promise<MidairError | undefined> {
  const state = await control.getState(migration);
  const why = refusalInPhase(migration, state?.phase ?? 'old-only', kind);
  return why === undefined ? undefined : new MidairError('INVALID_ARGUMENT', why);
}

/** Of `keyIds`, those with a pending repair in either direction: a prune leaves them to the repairer. */
export async function pendingEitherWay(
  control: ControlStore,
  migration: string,
  keyIds: readonly string[],
): Promise<Set<string>> {
  const pending = new Set<string>();
  if (keyIds.length === 0) return pending;
  for (const direction of REPAIR_DIRECTIONS)
    for (const id of await control.pendingRepairs(migration, direction, keyIds)) pending.add(id);
  return pending;
}

/** The keys of `keys` that new holds, old lacks, and no repair is pending for: what a prune would delete. */
export async function orphansOf<K extends Key, E extends object>(
  keys: readonly K[],
  source: Store<K, E>,
  control: ControlStore,
  migration: string,
  signal?: AbortSignal,
): Promise<K[]> {
  const present = await hasManyOf(source, keys, { signal });
  const orphans = keys.filter((_, i) => !present[i]);
  const pending = await pendingEitherWay(
    control,
    migration,
    orphans.map((k) => keyId(k)),
  );
  return pending.size === 0 ? orphans : orphans.filter((k) => !pending.has(keyId(k)));
}

/**
 * Before a prune deletes anything: counts what it would delete (from
 * `after`), stopping as soon as that passes `maxDeleteShare` of new's rows.
 * Resolves the error that stops the run, or `undefined` when the prune may go on.
 */
export async function deleteShareRefusal<K extends Key, E extends object>(o: {
  readonly migration: string;
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  readonly control: ControlStore;
  readonly after: K | undefined;
  readonly maxDeleteShare: number | undefined;
  readonly chunkSize: number;
  readonly signal?: AbortSignal | undefined;
}): Promise<MidairError | undefined> {
  const share = o.maxDeleteShare ?? DEFAULT_MAX_DELETE_SHARE;
  if (!Number.isFinite(share) || share < 0 || share > 1)
    throw new MidairError('INVALID_ARGUMENT', 'maxDeleteShare must be a share between 0 and 1 (0.01 is 1 %)');
  const rows = await o.target.count({ signal: o.signal });
  const limit = share * rows;
  let would = 0;
  for await (const keys of scanKeysOf(o.target, { after: o.after, chunkSize: o.chunkSize, signal: o.signal })) {
    would += (await orphansOf(keys, o.source, o.control, o.migration, o.signal)).length;
    if (would > limit) break;
  }
  if (would <= limit) return undefined;
  return new MidairError(
    'BLOCKED',
    `the prune would delete at least ${would} of new's ${rows} row(s) (${percent(rows === 0 ? 1 : would / rows)}), more than the ${percent(share)} allowed; nothing was deleted. ` +
      'Keys new holds and old lacks are usually a sign of a wrong mapping (compare the key codecs) or of writes that reached new alone; ' +
      'check them, then pass allowDeletes: true (--allow-deletes) to prune anyway, or raise maxDeleteShare',
  );
}
