import { compareKeys, keyId, type Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import { compareVersions } from '../core/versions.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES, type Side } from '../core/phases.js';
import type { RepositoryPorts } from './repository-ports.js';
import { authority, type SideCall } from './repository-calls.js';
import { isLookup, runLookup, whereOf, type HandQuery } from './lookups.js';

/**
 * Listings (`list`, named queries): from the authoritative store, merged
 * with old's answer where new is authoritative but may not hold everything yet.
 */
export function createListings<K extends Key, E extends object>(p: RepositoryPorts<K, E>, call: SideCall<K, E>) {
  const store = (side: Side): Store<K, E> => (side === 'old' ? p.stores.old : p.stores.new);

  /**
   * Merges two answers for the same keys: the authority's, or the newer
   * version. A key only old returned is looked up in new at one instant:
   * nothing if new deleted it, old's if new never had it, and otherwise new's
   * row — or, for a query (`filtered`), nothing: new holds the key and its own
   * answer left it out, so new's value does not match.
   */
  async function merge(st: PhaseState, primary: readonly E[], secondary: readonly E[], filtered = false): Promise<E[]> {
    const byId = new Map<string, E>();
    for (const e of primary) byId.set(keyId(p.stores.new.keyOf(e)), e);
    for (const e of secondary) {
      const key = p.stores.old.keyOf(e);
      const id = keyId(key);
      const mine = byId.get(id);
      if (mine === undefined) {
        const now = await call(st, 'new', 'get', (s, signal) => s.readKey(key, { signal }));
        if (now.entity !== undefined) {
          if (!filtered) byId.set(id, now.entity);
        } else if (!now.tombstone) byId.set(id, e);
      } else {
        const vm = p.stores.new.versionOf(mine);
        const vo = p.stores.old.versionOf(e);
        if (vm !== undefined && vo !== undefined && compareVersions(vo, vm) > 0) byId.set(id, e);
      }
    }
    return [...byId.values()].sort((a, b) => compareKeys(p.stores.new.keyOf(a), p.stores.new.keyOf(b)));
  }

  const merges = (st: PhaseState): boolean =>
    PHASE_RULES[st.phase].authoritative === 'new' && PHASE_RULES[st.phase].fallbackToOld;

  async function list(options: { readonly after?: K; readonly limit?: number } = {}): Promise<E[]> {
    const limit = options.limit ?? 100;
    const st = await p.serving.currentState();
    const from = authority(st);
    const primary = await call(st, from, 'list', () => firstPage(store(from), options.after, limit));
    if (!merges(st)) return primary;
    let secondary: E[] = [];
    try {
      secondary = await call(st, 'old', 'list', () => firstPage(p.stores.old, options.after, limit));
    } catch {
      p.sidelines.recordSecondary(false);
    }
    return (await merge(st, primary, secondary)).slice(0, limit);
  }

  async function query(name: string, ...args: readonly unknown[]): Promise<E[]> {
    const def = p.stores.queries?.[name];
    if (!def)
      throw new MidairError('INVALID_ARGUMENT', `query "${name}" is not declared in the migration's queries option`);
    const where = isLookup(def) ? whereOf(name, def, args) : undefined;
    const st = await p.serving.currentState();
    const from = authority(st);
    const run = (side: Side): Promise<E[]> =>
      p.stores.timed(`query ${name} on ${side}`, (signal) =>
        where
          ? runLookup(store(side), name, where, signal)
          : ((def as HandQuery<E>)[side] as (...a: readonly unknown[]) => Promise<E[]>)(...args),
      );
    const primary = await run(from);
    if (!merges(st)) return primary;
    let secondary: E[] = [];
    try {
      secondary = await run('old');
    } catch {
      p.sidelines.recordSecondary(false);
    }
    return merge(st, primary, secondary, true);
  }

  return { list, query };
}

export async function firstPage<K extends Key, E extends object>(
  s: Store<K, E>,
  after: K | undefined,
  limit: number,
): Promise<E[]> {
  for await (const chunk of s.scan({ after, chunkSize: limit })) return chunk;
  return [];
}
