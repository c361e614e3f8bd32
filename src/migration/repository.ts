import { keyId, type Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
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
  /**
   * Read-modify-write of one key, under the key's lock in the authoritative
   * store: `fn` gets the key's current value and returns the entity to write
   * (its key unchanged), or `undefined` to leave it as it is. No write of the
   * key by any instance falls between the read and the write, so concurrent
   * updates never lose one another. Routed by phase like `put`; `fn` may run
   * more than once (a retried transaction runs it again), so keep it free of
   * other effects. Resolves the key's value afterwards.
   */
  update(key: K, fn: (current: E | undefined) => E | undefined | Promise<E | undefined>): Promise<E | undefined>;
  /**
   * Changes only the given fields of an existing entity, atomically as
   * {@link update} does: concurrent patches of different fields all land.
   * Resolves the patched entity, or `undefined` (nothing written) when the
   * key is absent. Key fields cannot be patched.
   */
  patch(key: K, fields: Partial<E>): Promise<E | undefined>;
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
  const call = sideCall(p.stores, p.events);
  const { write } = createWrites(p, call);
  const { read } = createReads(p, call);
  const { list, query } = createListings(p, call);

  return {
    get: read,
    async getMany(keys) {
      return mapLimit(keys, GET_MANY_CONCURRENCY, (k) => read(k));
    },
    async put(entity) {
      await write(p.stores.old.keyOf(entity), { op: 'put', entity });
    },
    async update(key, fn) {
      return (await write(key, { op: 'update', next: updater(p, key, fn) })).entity;
    },
    async patch(key, fields) {
      checkPatch(p, key, fields);
      const next = (current: E | undefined): E | undefined =>
        current === undefined ? undefined : { ...current, ...fields };
      return (await write(key, { op: 'update', next: updater(p, key, next), fields })).entity;
    },
    async delete(key) {
      return (await write(key, { op: 'delete' })).held;
    },
    list,
    query,
    close: () => p.close(),
  };
}

/** The application's update function, checked: the entity it returns keeps the key it was called for. */
function updater<K extends Key, E extends object>(
  p: RepositoryPorts<K, E>,
  key: K,
  fn: (current: E | undefined) => E | undefined | Promise<E | undefined>,
): (current: E | undefined) => Promise<E | undefined> {
  return async (current) => {
    const next = await fn(current);
    if (next !== undefined && keyId(p.stores.old.keyOf(next)) !== keyId(key))
      throw new MidairError(
        'INVALID_ARGUMENT',
        `update on migration ${p.stores.name}: the function returned an entity of key ${keyId(p.stores.old.keyOf(next))} for key ${keyId(key)}; an update cannot change the key`,
      );
    return next;
  };
}

/** Refused before anything is read or written: a patch that would change a key field. */
function checkPatch<K extends Key, E extends object>(p: RepositoryPorts<K, E>, key: K, fields: Partial<E>): void {
  const keyFields = p.stores.old.keyFields ?? [];
  const parts: readonly unknown[] = keyFields.length === 1 ? [key] : (key as readonly unknown[]);
  const values = fields as Record<string, unknown>;
  const changed = keyFields.filter((f, i) => f in values && keyId(values[f] as K) !== keyId(parts[i] as K));
  if (changed.length === 0) return;
  throw new MidairError(
    'INVALID_ARGUMENT',
    `patch on migration ${p.stores.name}: ${changed.map((f) => `"${f}"`).join(', ')} ${changed.length === 1 ? 'is a key field' : 'are key fields'}; a patch cannot change the key (leave ${changed.length === 1 ? 'it' : 'them'} out)`,
  );
}
