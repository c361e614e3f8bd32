import { keyId, type Key } from '../core/keys.js';
import type { KeyState } from '../core/store.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES } from '../core/phases.js';
import type { RepositoryPorts } from './repository-ports.js';
import { MidairError } from '../core/errors.js';
import { authority, errorCode, other, type PathContext, type SideCall } from './repository-calls.js';

/**
 * The read path of the repository. Where new is authoritative but may not
 * hold everything yet, "missing in new" is decided from the key's row and
 * tombstone read at one instant (the store's `readKey`): a key deleted in new is
 * never served from old's stale copy, however a re-create races the read.
 */
export function createReads<K extends Key, E extends object>(p: RepositoryPorts<K, E>, call: SideCall<K, E>) {
  const c: PathContext<K, E> = { p, call };
  return { read: (key: K): Promise<E | undefined> => read(c, key) };
}

async function readOnce<K extends Key, E extends object>(
  c: PathContext<K, E>,
  key: K,
  st: PhaseState,
): Promise<E | undefined> {
  const { p, call } = c;
  const rules = PHASE_RULES[st.phase];
  const id = keyId(key);
  // Frozen for a cutover, this instance may already have neighbours writing under the other authority:
  // a key they could not copy over yet is read where they wrote it.
  if (st.writesPaused && rules.secondWrite) {
    const from = authority(st);
    if (await p.repairs.hasPendingRepair(id, from === 'old' ? 'new-to-old' : 'old-to-new')) {
      try {
        return await call(st, other(from), 'get', (s, signal) => s.get(key, { signal }));
      } catch (error) {
        // For this key the other store holds the newest value (a neighbour wrote it under the incoming authority):
        // answering from this side could return a value already replaced or deleted (regression: a frozen reader
        // fell back to old's stale copy when new failed). The call fails instead, as an authoritative read would.
        p.sidelines.recordSecondary(false);
        throw new MidairError(
          errorCode(error),
          `get on migration ${p.stores.name} failed: the key is being written across the cutover and the store that holds its newest value failed; retry`,
          {
            cause: error,
            details: { side: other(from), authoritative: true },
          },
        );
      }
    }
  }
  if (rules.authoritative === 'old') return readOldAuthority(c, key, id, st);
  if (!rules.fallbackToOld) {
    const answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
    if (rules.compare) p.sidelines.shadow(key, answer, 'new', st);
    return answer;
  }
  const found = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
  if (found !== undefined) {
    if (rules.compare) p.sidelines.shadow(key, found, 'new', st);
    return found;
  }
  // A miss: deleted in new, or not migrated yet — decided from one instant's row and tombstone.
  const state: KeyState<K, E> = await call(st, 'new', 'readKey', (s, signal) => s.readKey(key, { signal }));
  if (state.entity !== undefined) return state.entity;
  if (state.tombstone) return undefined; // deleted in new
  // Never written in new while the migration ran: old holds the key's latest state.
  try {
    const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
    p.sidelines.recordSecondary(true);
    if (fallback !== undefined && p.stores.lazy) p.sidelines.track(p.sidelines.lazyCopy(key, 'new', st));
    return fallback;
  } catch {
    p.sidelines.recordSecondary(false);
    return undefined;
  }
}

async function readOldAuthority<K extends Key, E extends object>(
  c: PathContext<K, E>,
  key: K,
  id: string,
  st: PhaseState,
): Promise<E | undefined> {
  const { p, call } = c;
  const rules = PHASE_RULES[st.phase];
  const fromNew =
    rules.readsNew === 'ramped' &&
    p.serving.inRamp(id, st.rampPercent) &&
    !(await p.repairs.hasPendingRepair(id, 'old-to-new'));
  if (fromNew) {
    let answer: E | undefined;
    let ok = true;
    try {
      answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
      p.sidelines.recordSecondary(true);
    } catch {
      ok = false;
      p.sidelines.recordSecondary(false);
    }
    if (ok && answer !== undefined) {
      p.sidelines.shadow(key, answer, 'new', st);
      return answer;
    }
    const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
    if (ok && fallback !== undefined && p.stores.lazy) p.sidelines.track(p.sidelines.lazyCopy(key, 'new', st));
    return fallback;
  }
  const answer = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
  if (rules.compare) p.sidelines.shadow(key, answer, 'old', st);
  return answer;
}

async function read<K extends Key, E extends object>(c: PathContext<K, E>, key: K): Promise<E | undefined> {
  const { p } = c;
  const st = await p.serving.currentState();
  const answer = await readOnce(c, key, st);
  // A read that outlived its phase is read again under the current one.
  if (await p.serving.stillValid(st)) return answer;
  return readOnce(c, key, await p.serving.currentState());
}
