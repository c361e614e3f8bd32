import { keyReader, versionReader } from '../core/entity.js';
import { MidairError, throwIfAborted } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { CheckReport } from '../core/check-report.js';
import type {
  BulkCopy,
  BulkWriteResult,
  CallOptions,
  CommitProbe,
  DeleteOptions,
  DirectPatch,
  Fencing,
  HashPushdown,
  KeyReads,
  Lookups,
  KeyState,
  PutOptions,
  ScanOptions,
  Store,
  SyncManyOptions,
  SyncManyResult,
  SyncResult,
  Tombstone,
  UpdateResult,
} from '../core/store.js';
import type { Version } from '../core/versions.js';
import type { TableInfo } from './sql-catalog.js';
import type { SqlDialect } from './sql-dialect.js';
import type { SqlDriver } from './sql-driver.js';
import { SqlHashPushdown } from './sql-hash-pushdown.js';
import { SqlKeyWrites } from './sql-key-writes.js';
import { SqlReads } from './sql-reads.js';
import type { RowCodec } from './sql-row-codec.js';
import type { CopySide } from './sql-same-engine.js';
import { SqlSchema } from './sql-setup.js';
import { storeParts, type SqlStoreOptions } from './sql-store-parts.js';
import { SqlBulkWrites } from './sql-sync.js';
import { SqlWriteEngine } from './sql-write-engine.js';

export type { SqlStoreOptions } from './sql-store-parts.js';

/**
 * Whether `store` is a SQL store itself, with its private state: a wrapper
 * (a Proxy, say) passes `instanceof` but has none of it, and is treated as
 * any other store.
 */
function isSqlStore<K extends Key, E extends object>(store: Store<K, E> | undefined): store is SqlStore<K, E> {
  return store !== undefined && SqlStore.owns(store);
}

/**
 * The one SQL store, a facade over its pieces: statements compiled from the
 * mapping and the engine's compiler (store-sql.ts, store-write-sql.ts), run
 * by one runner (sql-transaction.ts), rows encoded by the row codec, writes
 * by the write engine, hashes pushed down, the schema set up and checked.
 * Each engine folder supplies only its dialect (src/sql/sql-dialect.ts) and
 * driver. Concurrency: decision 0002; the pieces: decision 0009.
 */
export class SqlStore<K extends Key, E extends object> implements Store<K, E> {
  /** Whether `value` carries this class's private state (see {@link isSqlStore}). */
  static owns(value: object): boolean {
    return #side in value;
  }

  readonly name: string;
  readonly versioned: boolean;
  readonly keyFields: readonly string[];
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  readonly keyReads: KeyReads<K>;
  readonly hashing: HashPushdown<K>;
  /** PostgreSQL only: the same-engine copy (src/sql/postgres/). */
  readonly bulkCopy?: BulkCopy<K, E>;
  readonly fencing: Fencing;
  readonly patching: DirectPatch<K, E>;
  readonly lookups: Lookups<E>;
  readonly commitProbe: CommitProbe;
  readonly #dialect: SqlDialect;
  readonly #side: CopySide<K>;
  readonly #codec: RowCodec<K, E>;
  /** What a same-engine copy's two mappings must agree on (`undefined`: never). */
  readonly #rowFormat: string | undefined;
  readonly #reads: SqlReads<K, E>;
  readonly #writes: SqlKeyWrites<K, E>;
  readonly #bulk: SqlBulkWrites<K, E>;
  readonly #hashes: SqlHashPushdown<K, E>;
  readonly #schema: SqlSchema<K, E>;
  #closed = false;

  constructor(dialect: SqlDialect, driver: SqlDriver, mapping: SqlMapping<E>, options: SqlStoreOptions = {}) {
    const primary = mapping.tables[0];
    const name = options.name ?? `${dialect.name}:${primary.table}`;
    this.name = name;
    this.#dialect = dialect;
    this.keyFields = mapping.keyFields;
    this.keyOf = keyReader<K, E>(mapping.keyFields, `${name}.keyOf`);
    this.versionOf = versionReader<E>(mapping.versionField);
    this.versioned = mapping.versionField !== undefined;
    const parts = storeParts<K, E>(dialect, driver, mapping, options, {
      name,
      keyOf: this.keyOf,
      versionOf: this.versionOf,
      open: (operation, callOptions) => this.#open(operation, callOptions),
    });
    const { sql, runner } = parts;
    const engine = new SqlWriteEngine(parts);
    this.#reads = new SqlReads(parts);
    this.#writes = new SqlKeyWrites(parts, engine);
    this.#bulk = new SqlBulkWrites(parts, engine, Math.max(1, Math.floor(options.bulkConcurrency ?? 2)));
    this.#hashes = new SqlHashPushdown(parts);
    this.#schema = new SqlSchema(parts);
    this.#rowFormat = dialect.sameEngineCopy?.rowFormat(mapping as SqlMapping<object>);
    this.#codec = parts.codec;
    const introspectPrimary = (): Promise<TableInfo | undefined> =>
      this.#schema.introspect(primary.table, primary.schema);
    this.#side = { name, mapping: mapping as SqlMapping<object>, sql, codec: parts.codec, runner, introspectPrimary };
    this.keyReads = this.#reads;
    this.hashing = this.#hashes;
    this.fencing = this.#writes;
    this.patching = this.#writes;
    this.lookups = this.#reads;
    this.commitProbe = parts.probe;
    if (dialect.sameEngineCopy)
      this.bulkCopy = {
        syncManyFrom: (keys, source, o) => this.#syncManyFrom(keys, source, o),
        rangeFrom: (source, range, o) => this.#rangeFrom(source, range, o),
      };
  }

  #open(operation: string, options?: CallOptions): void {
    if (this.#closed) throw new MidairError('CLOSED', `${operation} on ${this.name}: the store is closed`);
    throwIfAborted(options?.signal, operation);
  }

  // ── reads ───────────────────────────────────────────────────────────────
  get(key: K, options?: CallOptions): Promise<E | undefined> {
    return this.#reads.get(key, options);
  }
  readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>> {
    return this.#writes.readKey(key, options);
  }
  getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    return this.#reads.getMany(keys, options);
  }
  count(options?: CallOptions): Promise<number> {
    return this.#reads.count(options);
  }
  scan(options?: ScanOptions<K>): AsyncIterable<E[]> {
    return this.#reads.scan(options);
  }
  sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    return this.#reads.sampleKeys(count, options);
  }
  getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    return this.#reads.getTombstone(key, options);
  }

  // ── writes ──────────────────────────────────────────────────────────────
  put(entity: E, options?: PutOptions): Promise<void> {
    return this.#writes.put(entity, options);
  }
  delete(key: K, options?: DeleteOptions): Promise<boolean> {
    return this.#writes.delete(key, options);
  }
  syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    return this.#writes.syncKey(key, read, options);
  }
  updateKey(
    key: K,
    next: (current: KeyState<K, E>) => Promise<E | undefined | null>,
    options?: CallOptions,
  ): Promise<UpdateResult> {
    return this.#writes.updateKey(key, next, options);
  }
  writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    return this.#bulk.writeIfNewer(entities, options);
  }
  purgeTombstones(options?: CallOptions): Promise<number> {
    return this.#writes.purgeTombstones(options);
  }

  async syncMany(
    keys: readonly K[],
    read: (keys: readonly K[], held?: ReadonlySet<string>) => Promise<readonly (E | undefined | null)[]>,
    options?: SyncManyOptions<K, E>,
  ): Promise<SyncManyResult> {
    const codec = this.#codec;
    // One batch at a time where `read` may need a connection of the pool this store's batch holds one of
    // (old and new in one database): two batches each waiting for a second connection of a pool of two never end.
    const lanes = this.#sharesNoConnection(options?.readFrom) ? this.#bulk.bulkConcurrency : 1;
    return this.#bulk.syncBatches('syncMany', keys, options, lanes, async (batch, _conn, held) => {
      const values = await read(batch, held);
      return batch.map((key, i) => {
        const value = values[i];
        return value === null || value === undefined ? value : codec.prepareFor(key, value, 'syncMany');
      });
    });
  }

  /**
   * {@link syncMany} from another store of the same engine and shape: the
   * source's rows go in as the database prints them (decided per call by the
   * engine's copy; `undefined` when the two cannot, and nothing was done).
   */
  async #syncManyFrom(
    keys: readonly K[],
    source: Store<K, E>,
    options?: CallOptions,
  ): Promise<SyncManyResult | undefined> {
    const copy = this.#dialect.sameEngineCopy;
    if (!copy || !isSqlStore(source)) return undefined;
    const from = source;
    if (this.#rowFormat === undefined || this.#rowFormat !== from.#rowFormat) return undefined;
    const fetch = await copy.plan(this.#side, from.#side, options);
    return fetch && this.#bulk.syncBatches('syncManyFrom', keys, options, this.#bulk.bulkConcurrency, fetch);
  }

  /** Whether `other` is a SQL store on another pool than this one's: its reads never wait for this store's connections. */
  #sharesNoConnection(other: Store<K, E> | undefined): boolean {
    if (!isSqlStore(other)) return false;
    const [mine, theirs] = [this.#side.runner.driver.pool, other.#side.runner.driver.pool];
    return mine !== undefined && theirs !== undefined && mine !== theirs;
  }

  async #rangeFrom(
    source: Store<K, E>,
    range: { readonly after?: K | undefined; readonly through?: K | undefined; readonly size: number },
    options?: CallOptions,
  ): Promise<{ readonly keys: readonly K[]; sync(): Promise<SyncManyResult> } | undefined> {
    const copy = this.#dialect.sameEngineCopy;
    if (!copy?.planRange || !isSqlStore(source)) return undefined;
    const from = source;
    if (this.#rowFormat === undefined || this.#rowFormat !== from.#rowFormat) return undefined;
    this.#open('syncManyFrom', options);
    const planned = await copy.planRange(this.#side, from.#side, range, options);
    if (!planned) return undefined;
    return {
      keys: planned.keys,
      sync: () =>
        this.#bulk.syncBatches('syncManyFrom', planned.keys, options, this.#bulk.bulkConcurrency, planned.fetch),
    };
  }

  // ── schema ──────────────────────────────────────────────────────────────
  setup(options?: CallOptions): Promise<void> {
    return this.#schema.setup(options);
  }
  check(options?: CallOptions): Promise<CheckReport> {
    return this.#schema.check(options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#side.runner.driver.close();
  }
}
