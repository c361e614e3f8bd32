import type { Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { Side } from '../core/phases.js';
import type { Runtime } from './runtime.js';
import { authority, sideCall } from './repository-calls.js';
import { mapLimit } from '../core/collections.js';
import { createReads, firstPage } from './repository-reads.js';
import { createWrites } from './repository-writes.js';

/**
 * What the application uses in place of its DAO. Every call is routed by the
 * migration's current phase; see the phase table in the README.
 *
 * @example
 * ```ts
 * const users = migration.repository();
 * await users.put({ id: 1n, email: 'ada@example.com', version: 2 });
 * const ada = await users.get(1n);
 * ```
 */
export interface Repository<K extends Key, E extends object> {
  get(key: K): Promise<E | undefined>;
  getMany(keys: readonly K[]): Promise<(E | undefined)[]>;
  put(entity: E): Promise<void>;
  /** Resolves whether the authoritative store held the key. */
  delete(key: K): Promise<boolean>;
  /** A page of entities in key order, from the authoritative store — merged with old where new may not hold everything yet. */
  list(options?: { readonly after?: K; readonly limit?: number }): Promise<E[]>;
  /** A named non-key query (declared in `queries`), routed or merged like `list`. */
  query(name: string, ...args: readonly unknown[]): Promise<E[]>;
  /** Stops this instance (same as `migration.close()`). */
  close(): Promise<void>;
}

/** Per side, how to answer a named query. */
export type QueryDefs<E> = Readonly<Record<string, { readonly old: (...args: never[]) => Promise<E[]>; readonly new: (...args: never[]) => Promise<E[]> }>>;

/** How many keys of one `getMany` are read at once. */
const GET_MANY_CONCURRENCY = 16;

export function createRepository<K extends Key, E extends object>(rt: Runtime<K, E>): Repository<K, E> {
  const call = sideCall(rt);
  const { write } = createWrites(rt, call);
  const { read, merge, merges } = createReads(rt, call);
  const store = (side: Side): Store<K, E> => (side === 'old' ? rt.old : rt.new);

  return {
    get: read,
    async getMany(keys) {
      return mapLimit(keys, GET_MANY_CONCURRENCY, (k) => read(k));
    },
    async put(entity) {
      await write(rt.old.keyOf(entity), entity, 'put');
    },
    async delete(key) {
      return write(key, undefined, 'delete');
    },
    async list(options = {}) {
      const limit = options.limit ?? 100;
      const st = await rt.currentState();
      const from = authority(st);
      const primary = await call(st, from, 'list', () => firstPage(store(from), options.after, limit));
      if (!merges(st)) return primary;
      let secondary: E[] = [];
      try {
        secondary = await call(st, 'old', 'list', () => firstPage(rt.old, options.after, limit));
      } catch {
        rt.recordSecondary(false);
      }
      return (await merge(st, primary, secondary)).slice(0, limit);
    },
    async query(name, ...args) {
      const def = rt.queries?.[name];
      if (!def) throw new MidairError('INVALID_ARGUMENT', `query "${name}" is not declared in the migration's queries option`);
      const st = await rt.currentState();
      const from = authority(st);
      const run = (side: Side): Promise<E[]> => rt.timed(`query ${name} on ${side}`, () => (def[side] as (...a: readonly unknown[]) => Promise<E[]>)(...args));
      const primary = await run(from);
      if (!merges(st)) return primary;
      let secondary: E[] = [];
      try {
        secondary = await run('old');
      } catch {
        rt.recordSecondary(false);
      }
      return merge(st, primary, secondary);
    },
    close: () => rt.close(),
  };
}
