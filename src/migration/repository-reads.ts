import { compareKeys, keyId, type Key } from '../core/keys.js';
import { readKeyOf, type KeyState, type Store } from '../core/store.js';
import { compareVersions } from '../core/versions.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES } from '../core/phases.js';
import type { Runtime } from './runtime.js';
import { MidairError } from '../core/errors.js';
import { authority, errorCode, other, type SideCall } from './repository-calls.js';

/**
 * The read path of the repository. Where new is authoritative but may not
 * hold everything yet, "missing in new" is decided from the key's row and
 * tombstone read at one instant ({@link readKeyOf}): a key deleted in new is
 * never served from old's stale copy, however a re-create races the read.
 */
export function createReads<K extends Key, E extends object>(rt: Runtime<K, E>, call: SideCall<K, E>) {
  async function readOnce(key: K, st: PhaseState): Promise<E | undefined> {
    const rules = PHASE_RULES[st.phase];
    const id = keyId(key);
    // Frozen for a cutover, this instance may already have neighbours writing under the other authority:
    // a key they could not copy over yet is read where they wrote it.
    if (st.writesPaused && rules.secondWrite) {
      const from = authority(st);
      if (await rt.hasPendingRepair(id, from === 'old' ? 'new-to-old' : 'old-to-new')) {
        try {
          return await call(st, other(from), 'get', (s, signal) => s.get(key, { signal }));
        } catch (error) {
          // For this key the other store holds the newest value (a neighbour wrote it under the incoming authority):
          // answering from this side could return a value already replaced or deleted (regression: a frozen reader
          // fell back to old's stale copy when new failed). The call fails instead, as an authoritative read would.
          rt.recordSecondary(false);
          throw new MidairError(errorCode(error), `get on migration ${rt.name} failed: the key is being written across the cutover and the store that holds its newest value failed; retry`, {
            cause: error,
            details: { side: other(from), authoritative: true },
          });
        }
      }
    }
    if (rules.authoritative === 'old') return readOldAuthority(key, id, st);
    if (!rules.fallbackToOld) {
      const answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
      if (rules.compare) rt.shadow(key, answer, 'new', st);
      return answer;
    }
    const found = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
    if (found !== undefined) {
      if (rules.compare) rt.shadow(key, found, 'new', st);
      return found;
    }
    // A miss: deleted in new, or not migrated yet — decided from one instant's row and tombstone.
    const state: KeyState<K, E> = await call(st, 'new', 'readKey', (s, signal) => readKeyOf(s, key, { signal }));
    if (state.entity !== undefined) return state.entity;
    if (state.tombstone) return undefined; // deleted in new
    // Never written in new while the migration ran: old holds the key's latest state.
    try {
      const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
      rt.recordSecondary(true);
      if (fallback !== undefined && rt.lazy) rt.track(rt.lazyCopy(key, 'new', st));
      return fallback;
    } catch {
      rt.recordSecondary(false);
      return undefined;
    }
  }

  async function readOldAuthority(key: K, id: string, st: PhaseState): Promise<E | undefined> {
    const rules = PHASE_RULES[st.phase];
    const fromNew = rules.readsNew === 'ramped' && rt.inRamp(id, st.rampPercent) && !(await rt.hasPendingRepair(id, 'old-to-new'));
    if (fromNew) {
      let answer: E | undefined;
      let ok = true;
      try {
        answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
        rt.recordSecondary(true);
      } catch {
        ok = false;
        rt.recordSecondary(false);
      }
      if (ok && answer !== undefined) {
        rt.shadow(key, answer, 'new', st);
        return answer;
      }
      const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
      if (ok && fallback !== undefined && rt.lazy) rt.track(rt.lazyCopy(key, 'new', st));
      return fallback;
    }
    const answer = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
    if (rules.compare) rt.shadow(key, answer, 'old', st);
    return answer;
  }

  async function read(key: K): Promise<E | undefined> {
    const st = await rt.currentState();
    const answer = await readOnce(key, st);
    // A read that outlived its phase is read again under the current one.
    if (await rt.stillValid(st)) return answer;
    return readOnce(key, await rt.currentState());
  }

  /**
   * Merges two answers for the same keys: the authority's, or the newer
   * version. A key only old returned is looked up in new at one instant:
   * new's row if it has one now, nothing if new deleted it, old's otherwise.
   */
  async function merge(st: PhaseState, primary: readonly E[], secondary: readonly E[]): Promise<E[]> {
    const byId = new Map<string, E>();
    for (const e of primary) byId.set(keyId(rt.new.keyOf(e)), e);
    for (const e of secondary) {
      const key = rt.old.keyOf(e);
      const id = keyId(key);
      const mine = byId.get(id);
      if (mine === undefined) {
        const now = await call(st, 'new', 'get', (s, signal) => readKeyOf(s, key, { signal }));
        if (now.entity !== undefined) byId.set(id, now.entity);
        else if (!now.tombstone) byId.set(id, e);
      } else {
        const vm = rt.new.versionOf(mine);
        const vo = rt.old.versionOf(e);
        if (vm !== undefined && vo !== undefined && compareVersions(vo, vm) > 0) byId.set(id, e);
      }
    }
    return [...byId.values()].sort((a, b) => compareKeys(rt.new.keyOf(a), rt.new.keyOf(b)));
  }

  const merges = (st: PhaseState): boolean => PHASE_RULES[st.phase].authoritative === 'new' && PHASE_RULES[st.phase].fallbackToOld;

  return { read, merge, merges };
}

export async function firstPage<K extends Key, E extends object>(s: Store<K, E>, after: K | undefined, limit: number): Promise<E[]> {
  for await (const chunk of s.scan({ after, chunkSize: limit })) return chunk;
  return [];
}
