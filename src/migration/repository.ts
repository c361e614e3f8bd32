import type { Key } from '../core/keys.js';
import type { RepositoryPorts } from './repository-ports.js';
import { sideCall } from './repository-calls.js';
import { mapLimit } from '../core/collections.js';
import { createReads } from './repository-reads.js';
import { createWrites } from './repository-writes.js';
import { createListings } from './repository-merge.js';

export type { QueryDefs } from './repository-ports.js';

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

/** How many keys of one `getMany` are read at once. */
const GET_MANY_CONCURRENCY = 16;

export function createRepository<K extends Key, E extends object>(p: RepositoryPorts<K, E>): Repository<K, E> {
  const call = sideCall(p.stores);
  const { write } = createWrites(p, call);
  const { read } = createReads(p, call);
  const { list, query } = createListings(p, call);

  return {
    get: read,
    async getMany(keys) {
      return mapLimit(keys, GET_MANY_CONCURRENCY, (k) => read(k));
    },
    async put(entity) {
      await write(p.stores.old.keyOf(entity), entity, 'put');
    },
    async delete(key) {
      return write(key, undefined, 'delete');
    },
    list,
    query,
    close: () => p.close(),
  };
}
