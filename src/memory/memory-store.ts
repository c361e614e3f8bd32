import { cloneJson } from '../core/json-value.js';
import { decideWrite, deleteAllowed, keyReader, maxVersion, versionReader, type EntityShape } from '../core/entity.js';
import { MidairError, throwIfAborted } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { CheckReport } from '../core/check-report.js';
import {
  emptyBulkResult,
  type BulkWriteResult,
  type CallOptions,
  type DeleteOptions,
  type Fence,
  type Fencing,
  type KeyReads,
  type KeyState,
  type Lookups,
  type PutOptions,
  type ScanOptions,
  type Store,
  type SyncManyResult,
  type SyncResult,
  type Tombstone,
  type UpdateResult,
} from '../core/store.js';
import type { Version } from '../core/versions.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import { SortedKeys } from './sorted-keys.js';
import { matchesFields } from '../core/lookup.js';
import { fencedError, fencesOf, validateFence, validateFences, validateMigrationName } from '../core/fence-rules.js';

export interface MemoryStoreOptions<E> extends EntityShape<E> {
  readonly name?: string;
}

/**
 * A real in-process store for simulations and demos: sorted keys, deep-copied
 * entities, tombstones and the same conditional-write rule as every SQL
 * adapter. Every call is atomic (it never yields midway). A write given a
 * fence is checked at the moment it applies (after a sync's `read` returned).
 *
 * @example
 * ```ts
 * const store = memoryStore<number, User>({ key: 'id', version: 'version' });
 * await store.put({ id: 1, name: 'Ada', version: 1 });
 * ```
 */
export function memoryStore<K extends Key, E extends object>(options: MemoryStoreOptions<E>): Store<K, E> {
  return new MemoryStore<K, E>(options);
}

/** A deep copy that keeps a Buffer a Buffer and a LosslessNumber a LosslessNumber (structuredClone makes them a Uint8Array and a plain object). */
function cloneEntity<E extends object>(entity: E): E {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(entity)) out[field] = cloneJson(value);
  return out as E;
}

class MemoryStore<K extends Key, E extends object> implements Store<K, E> {
  readonly name: string;
  readonly versioned: boolean;
  readonly keyFields: readonly string[];
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  readonly #rows = new Map<string, E>();
  readonly #keys = new SortedKeys<K>();
  readonly #tombstones = new Map<string, Tombstone<K>>();
  readonly #locks = new KeyedMutex();
  /** Fence per migration (absent: 0). */
  readonly #fences = new Map<string, number>();
  #closed = false;

  constructor(options: MemoryStoreOptions<E>) {
    this.name = options.name ?? 'memory';
    const keyFields = typeof options.key === 'string' ? [options.key] : [...options.key];
    this.keyFields = keyFields;
    this.keyOf = keyReader<K, E>(keyFields, `${this.name}.keyOf`);
    this.versionOf = versionReader<E>(options.version);
    this.versioned = options.version !== undefined;
  }

  readonly keyReads: KeyReads<K> = {
    scanKeys: (options) => this.#chunks('scanKeys', options ?? {}, (k) => k),
    hasMany: async (keys, options) => {
      this.#open('hasMany', options);
      return Promise.resolve(keys.map((k) => this.#rows.has(keyId(k))));
    },
    keyAt: async (range, offset, options) => {
      this.#open('keyAt', options);
      const { start, end } = this.#keys.bounds(range);
      const at = start + offset - 1;
      return Promise.resolve(offset >= 1 && at < end ? this.#keys.at(at) : undefined);
    },
  };

  readonly lookups: Lookups<E> = {
    findBy: async (where, options) => {
      this.#open('findBy', options);
      if (Object.keys(where).length === 0)
        throw new MidairError('INVALID_ARGUMENT', `lookup on ${this.name}: name at least one field to look up by`);
      const found: E[] = [];
      for (const key of this.#keys.slice(0, this.#keys.length)) {
        const row = this.#rows.get(keyId(key));
        if (row !== undefined && matchesFields(row, where)) found.push(cloneEntity(row));
      }
      return Promise.resolve(found);
    },
  };

  readonly fencing: Fencing = {
    raiseFence: (fence, options) => this.#raiseFence(fence, options),
    fenceOf: (migration, options) => this.#fenceOf(migration, options),
  };

  #open(operation: string, options?: CallOptions): void {
    if (this.#closed) throw new MidairError('CLOSED', `${operation} on ${this.name}: the store is closed`);
    throwIfAborted(options?.signal, operation);
  }

  /** Validates a write's fence before anything is read or written. */
  #openWrite(operation: string, options?: CallOptions): void {
    this.#open(operation, options);
    validateFences(options, `${operation} on ${this.name}`);
  }

  /** Refuses the write (FENCED) if the fence has moved past its epoch; synchronous with the write that follows. */
  #checkFence(operation: string, options?: CallOptions): void {
    for (const fence of fencesOf(options)) {
      const at = this.#fences.get(fence.migration) ?? 0;
      if (at > fence.epoch) throw fencedError(this.name, operation, fence, at);
    }
  }

  async #raiseFence(fence: Fence, options?: CallOptions): Promise<void> {
    this.#open('raiseFence', options);
    validateFence(fence, `raiseFence on ${this.name}`);
    // Writes check the fence as they apply, synchronously: none that passed the old one is still in flight.
    this.#fences.set(fence.migration, Math.max(this.#fences.get(fence.migration) ?? 0, fence.epoch));
    return Promise.resolve();
  }

  async #fenceOf(migration: string, options?: CallOptions): Promise<number> {
    this.#open('fenceOf', options);
    validateMigrationName(migration, `fenceOf on ${this.name}`);
    return Promise.resolve(this.#fences.get(migration) ?? 0);
  }

  #set(key: K, entity: E): void {
    const id = keyId(key);
    if (!this.#rows.has(id)) this.#keys.insert(key);
    this.#rows.set(id, cloneEntity(entity));
  }

  #remove(key: K): boolean {
    const id = keyId(key);
    if (!this.#rows.delete(id)) return false;
    this.#keys.remove(key);
    return true;
  }

  async get(key: K, options?: CallOptions): Promise<E | undefined> {
    this.#open('get', options);
    const row = this.#rows.get(keyId(key));
    return Promise.resolve(row === undefined ? undefined : cloneEntity(row));
  }

  async getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    this.#open('getMany', options);
    return Promise.resolve(
      keys.map((k) => {
        const row = this.#rows.get(keyId(k));
        return row === undefined ? undefined : cloneEntity(row);
      }),
    );
  }

  async put(entity: E, options?: PutOptions): Promise<void> {
    this.#openWrite('put', options);
    const key = this.keyOf(entity);
    if (this.versioned) this.versionOf(entity);
    this.#checkFence('put', options);
    this.#set(key, entity);
    if (!options?.keepTombstone && !options?.direct) this.#tombstones.delete(keyId(key));
    return Promise.resolve();
  }

  async delete(key: K, options?: DeleteOptions): Promise<boolean> {
    this.#openWrite('delete', options);
    if (options?.version !== undefined && !this.versioned) {
      throw new MidairError(
        'INVALID_ARGUMENT',
        `delete on ${this.name}: a version was given but the store has no version field`,
      );
    }
    this.#checkFence('delete', options);
    const row = this.#rows.get(keyId(key));
    if (row && !deleteAllowed(options?.version, this.versionOf(row))) return Promise.resolve(false);
    const tombstone = !options?.direct && (options?.tombstone ?? true);
    return Promise.resolve(this.#delete(key, tombstone, options?.version));
  }

  /** Removes the row and records a tombstone at the greatest version known for the key. */
  #delete(key: K, tombstone: boolean, version: Version | undefined): boolean {
    const id = keyId(key);
    const row = this.#rows.get(id);
    const existed = this.#remove(key);
    if (tombstone) {
      const previous = this.#tombstones.get(id);
      const rowVersion = row && this.versioned ? this.versionOf(row) : undefined;
      this.#tombstones.set(id, {
        key,
        version: maxVersion(maxVersion(previous?.version, rowVersion), version),
        deletedAt: new Date(),
      });
    }
    return existed;
  }

  async syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    return this.#lockedWrite('syncKey', key, read, options) as Promise<SyncResult>;
  }

  async updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    return this.#lockedWrite('updateKey', key, () => next(this.#state(key)), options);
  }

  /** Under the key's lock: what `decide` returns is written (an entity), deleted (`undefined`) or left alone (`null`). */
  async #lockedWrite(
    operation: string,
    key: K,
    decide: () => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    this.#openWrite(operation, options);
    const release = await this.#locks.acquire(keyId(key));
    try {
      const value = await decide();
      this.#open(operation, options);
      if (value === null) return 'unchanged';
      if (value !== undefined && keyId(this.keyOf(value)) !== keyId(key))
        throw new MidairError(
          'INVALID_ARGUMENT',
          `${operation} on ${this.name}: the source returned an entity of another key`,
        );
      this.#checkFence(operation, options);
      if (value === undefined) return this.#delete(key, true, undefined) ? 'deleted' : 'absent';
      this.#set(key, value);
      this.#tombstones.delete(keyId(key));
      return 'put';
    } finally {
      release();
    }
  }

  async count(options?: CallOptions): Promise<number> {
    this.#open('count', options);
    return Promise.resolve(this.#rows.size);
  }

  scan(options: ScanOptions<K> = {}): AsyncIterable<E[]> {
    return this.#chunks('scan', options, (k) => cloneEntity(this.#rows.get(keyId(k)) as E));
  }

  /** A keyset walk in chunks, each key turned into what the caller reads. */
  async *#chunks<T>(operation: string, options: ScanOptions<K>, each: (key: K) => T): AsyncIterable<T[]> {
    const size = options.chunkSize ?? 1000;
    let after = options.after;
    for (;;) {
      this.#open(operation, options);
      const { start, end } = this.#keys.bounds({ after, through: options.through, within: options.within });
      const keys = this.#keys.slice(start, Math.min(start + size, end));
      if (keys.length === 0) return;
      yield keys.map(each);
      after = keys[keys.length - 1];
      await Promise.resolve();
    }
  }

  async sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    this.#open('sampleKeys', options);
    const n = this.#keys.length;
    const picked = new Set<number>();
    while (picked.size < Math.min(count, n)) picked.add(Math.floor(Math.random() * n));
    return Promise.resolve([...picked].sort((a, b) => a - b).map((i) => this.#keys.at(i) as K));
  }

  async writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    this.#openWrite('writeIfNewer', options);
    const result = emptyBulkResult();
    // Validate everything before touching anything: a bad entity writes nothing.
    const prepared = entities.map((e) => ({ entity: e, key: this.keyOf(e), version: this.versionOf(e) }));
    this.#checkFence('writeIfNewer', options);
    for (const { entity, key, version } of prepared) {
      const id = keyId(key);
      const row = this.#rows.get(id);
      const decision = decideWrite(version, row && { version: this.versionOf(row) }, this.#tombstones.get(id));
      if (decision === 'insert' || decision === 'update') {
        this.#set(key, entity);
        this.#tombstones.delete(id);
        result[decision === 'insert' ? 'inserted' : 'updated']++;
      } else {
        result[decision]++;
      }
    }
    return Promise.resolve(result);
  }

  async syncMany(
    keys: readonly K[],
    read: (keys: readonly K[], held?: ReadonlySet<string>) => Promise<readonly (E | undefined | null)[]>,
    options?: CallOptions,
  ): Promise<SyncManyResult> {
    this.#openWrite('syncMany', options);
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).entries()].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
    );
    const releases: (() => void)[] = [];
    try {
      for (const [id] of unique) releases.push(await this.#locks.acquire(id));
      const list = unique.map(([, k]) => k);
      const held = new Set(unique.map(([id]) => id).filter((id) => this.#rows.has(id) || this.#tombstones.has(id)));
      const values = await read(list, held);
      this.#open('syncMany', options);
      this.#checkFence('syncMany', options);
      const result = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
      list.forEach((key, i) => {
        const value = values[i];
        const id = keyId(key);
        if (value === null) result.unchanged++;
        else if (value === undefined) result[this.#delete(key, true, undefined) ? 'deleted' : 'unchanged']++;
        else {
          if (keyId(this.keyOf(value)) !== id)
            throw new MidairError(
              'INVALID_ARGUMENT',
              `syncMany on ${this.name}: the source returned an entity of another key`,
            );
          result[this.#rows.has(id) ? 'updated' : 'inserted']++;
          this.#set(key, value);
          this.#tombstones.delete(id);
        }
      });
      return result;
    } finally {
      for (const release of releases) release();
    }
  }

  async getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    this.#open('getTombstone', options);
    return Promise.resolve(this.#tombstones.get(keyId(key)));
  }

  async readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>> {
    this.#open('readKey', options);
    return Promise.resolve(this.#state(key));
  }

  #state(key: K): KeyState<K, E> {
    const id = keyId(key);
    const row = this.#rows.get(id);
    if (row !== undefined) return { entity: cloneEntity(row) };
    const tombstone = this.#tombstones.get(id);
    return tombstone ? { tombstone } : {};
  }

  async purgeTombstones(options?: CallOptions): Promise<number> {
    this.#open('purgeTombstones', options);
    const n = this.#tombstones.size;
    this.#tombstones.clear();
    return Promise.resolve(n);
  }

  async setup(options?: CallOptions): Promise<void> {
    this.#open('setup', options);
    return Promise.resolve();
  }

  async check(options?: CallOptions): Promise<CheckReport> {
    this.#open('check', options);
    const problems = this.versioned
      ? []
      : [
          {
            code: 'MISSING_VERSION' as const,
            severity: 'warning' as const,
            message: `${this.name} has no version field: conditional writes are insert-only (never overwrite); verification's repair closes the gap`,
          },
        ];
    return Promise.resolve({ store: this.name, ok: true, problems });
  }

  async close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
