import { decideWrite, deleteAllowed, keyReader, maxVersion, versionReader } from '../core/entity.js';
import { describeFailure, MidairError, PartialSyncError, throwIfAborted } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import { codecs, wrapsReads, wrapsWrites } from '../mapping/codecs.js';
import type { MappedField, MappedTable, SqlMapping } from '../mapping/mapping.js';
import {
  DEFAULT_CAPABILITIES,
  emptyBulkResult,
  type BulkWriteResult,
  type CallOptions,
  type Capabilities,
  type CheckReport,
  type DeleteOptions,
  type Fence,
  type KeyRange,
  type KeyState,
  type PutOptions,
  type RangeHash,
  type ScanOptions,
  type Store,
  type SyncManyResult,
  type SyncResult,
  type Tombstone,
} from '../core/store.js';
import type { Version } from '../core/versions.js';
import { checkSchema, uniqueFieldsOf } from './sql-check.js';
import { validateFence, validateMigrationName } from './fence-rules.js';
import { FENCE_TABLE_SUFFIX, SqlFences } from './sql-fence.js';
import { cellText, type SqlDialect, type TableInfo } from './sql-dialect.js';
import { driverRowHash, hashUnsupportedReason, rowHashExpr } from './sql-hash.js';
import type { SqlConnection, SqlDriver, TransactionOptions } from './sql-driver.js';
import { guardedConnection } from './sql-transaction.js';
import { keyEquals, keyIn, Params, readExpr } from './sql-statements.js';
import { chunked } from '../core/collections.js';

export interface SqlStoreOptions {
  /** A name for messages and metrics; default `<dialect>:<primary table>`. */
  readonly name?: string;
  /** Attempts for a write aborted by a deadlock before the error reaches the caller. Default 8. */
  readonly deadlockRetries?: number;
  /**
   * How many transactions one bulk write (`writeIfNewer`, or a same-engine
   * backfill chunk through `syncManyFrom`) runs at once over its disjoint
   * batches of keys, so reading the source and writing here overlap. Each
   * holds one connection (a same-engine copy from another pool also takes
   * one of that pool per transaction). `syncMany` runs one at a time.
   * Default 2.
   */
  readonly bulkConcurrency?: number;
}

/** Rows read as the database prints them, as prepared writes for the batch's keys (`undefined`: the source has none). */
function asPrepared<K extends Key>(batch: readonly K[], found: ReadonlyMap<string, unknown[]>): (Prepared<K> | undefined)[] {
  return batch.map((key) => {
    const cells = found.get(keyId(key));
    return cells === undefined ? undefined : { key, id: keyId(key), version: undefined, cells: [cells] };
  });
}

/**
 * Runs `fn` over the items with at most `limit` at once. After a failure no
 * new item starts; those running finish, then the first error is thrown.
 */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed) throw failed.error;
}

/** Adds each count of `part` into `into` (results summed over batches). */
function addCounts<T extends Record<string, number>>(into: T, part: Readonly<T>): void {
  for (const k of Object.keys(part) as (keyof T)[]) (into as Record<keyof T, number>)[k] += part[k];
}

/** Names hash aggregates uniquely per process (several stores may share one SQLite handle). */
let hashAggregateCount = 0;

/** Codecs whose column types must be equal for a same-engine copy as text (their input rounds where the codec floors). */
const ROUNDING_CODECS: ReadonlySet<string> = new Set(['timestamptz', 'timestamp']);

/** Key column types a binary same-engine copy can write into its COPY statement. */
const INTEGER_KEY_TYPES: ReadonlySet<string> = new Set(['smallint', 'integer', 'bigint']);

/** Batches this large take the dialect's bulk path (COPY on PostgreSQL), when it has one. */
const BULK_MIN_ROWS = 2;

/** Columns midair adds to the tombstone table beside the key columns. */
export const TOMBSTONE_VERSION_COLUMN = 'midair_version';
export const TOMBSTONE_DELETED_AT_COLUMN = 'midair_deleted_at';

const deletedAtCodec = codecs.timestamptz({ as: 'date' });
const deletedAtField: MappedField = { field: 'deletedAt', column: TOMBSTONE_DELETED_AT_COLUMN, codec: deletedAtCodec as never, isKey: false };

interface Prepared<K> {
  readonly key: K;
  readonly id: string;
  readonly version: Version | undefined;
  /** Per table, per field: the encoded value (null for none). */
  readonly cells: readonly (readonly unknown[])[];
  /** Instead of cells: the row as a binary COPY tuple of a table with the same column types (same-engine copies). */
  readonly tuple?: Buffer;
}

/**
 * The one SQL store: statements are built here from the mapping and the
 * dialect; each database folder supplies only its dialect and driver.
 *
 * Concurrency: every mutating call runs in a transaction that first takes
 * the dialect's per-key locks (PostgreSQL advisory locks; MySQL/MariaDB gap
 * and row locks under REPEATABLE READ; SQLite's database write lock), then
 * reads the tombstone and the current version, so the conditional-write rule
 * is decided on the latest committed state. See docs/decisions/0002.
 */
export class SqlStore<K extends Key, E extends object> implements Store<K, E> {
  readonly name: string;
  readonly capabilities: Capabilities;
  readonly keyFields: readonly string[];
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  readonly #dialect: SqlDialect;
  readonly #driver: SqlDriver;
  readonly #mapping: SqlMapping<E>;
  readonly #retries: number;
  readonly #primary: MappedTable;
  readonly #tables: readonly string[];
  readonly #tomb: string;
  /** The fence table's bare name, and its statements (src/sql/sql-fence.ts). */
  readonly #fenceTable: string;
  readonly #fences: SqlFences;
  /** Lock ids hash the bare table name: a collision only serialises more, a miss would not serialise at all. */
  readonly #lockNamespace: string;
  readonly #select: string;
  readonly #from: string;
  /** Hash aggregates this store registered with its driver, by the fields they leave out. */
  readonly #hashAggregates = new Map<string, { name: string; columns: string[] }>();
  readonly #keyCols0: readonly string[];
  /** t0's key columns as read (`SELECT` list). */
  readonly #keyReads0: string;
  /** See {@link #computeRowFormat}: fixed by the mapping. */
  readonly #rowFormat: string | undefined;
  readonly #bulkConcurrency: number;
  readonly #keyCols: readonly string[];
  readonly #versionMapped: MappedField | undefined;
  readonly #tombVersion: MappedField | undefined;
  readonly #writeTx: TransactionOptions;
  #closed = false;

  constructor(dialect: SqlDialect, driver: SqlDriver, mapping: SqlMapping<E>, options: SqlStoreOptions = {}) {
    this.#dialect = dialect;
    this.#driver = driver;
    this.#mapping = mapping;
    this.#retries = options.deadlockRetries ?? 8;
    this.#bulkConcurrency = Math.max(1, Math.floor(options.bulkConcurrency ?? 2));
    const q = (s: string): string => dialect.quoteId(s);
    this.#primary = mapping.tables[0];
    this.name = options.name ?? `${dialect.name}:${this.#primary.table}`;
    this.keyFields = mapping.keyFields;
    this.keyOf = keyReader<K, E>(mapping.keyFields, `${this.name}.keyOf`);
    this.versionOf = versionReader<E>(mapping.versionField);
    this.capabilities = Object.freeze({
      ...DEFAULT_CAPABILITIES,
      versioned: mapping.versionField !== undefined,
      transactions: true,
      bulkCopy: dialect.bulkUpsert !== undefined,
      shared: dialect.name !== 'sqlite',
    });
    this.#tables = mapping.tables.map((t) => dialect.qualify(t.table, t.schema));
    this.#tomb = dialect.qualify(mapping.tombstone.table, mapping.tombstone.schema);
    this.#fenceTable = `${this.#primary.table}${FENCE_TABLE_SUFFIX}`;
    this.#fences = new SqlFences(dialect, dialect.qualify(this.#fenceTable, mapping.tombstone.schema), this.name);
    this.#lockNamespace = this.#primary.table;
    this.#rowFormat = this.#computeRowFormat();
    this.#keyCols = this.#primary.keyColumns.map((f) => q(f.column));
    this.#keyCols0 = this.#keyCols.map((c) => `t0.${c}`);
    this.#keyReads0 = this.#primary.keyColumns.map((f, i) => readExpr(dialect, f, this.#keyCols0[i] as string)).join(', ');
    this.#versionMapped = this.#primary.fields.find((f) => f.field === mapping.versionField);
    this.#tombVersion = this.#versionMapped && { ...this.#versionMapped, column: TOMBSTONE_VERSION_COLUMN };
    this.#writeTx = dialect.writeTransaction;

    const exprs = mapping.selectFields.map((f) => readExpr(dialect, f, `t${f.tableIndex}.${q(f.column)}`));
    const joins = mapping.tables.slice(1).map((t, i) => {
      const alias = `t${i + 1}`;
      const on = t.keyColumns.map((f, j) => `${alias}.${q(f.column)} = ${this.#keyCols0[j] ?? ''}`).join(' AND ');
      return ` LEFT JOIN ${this.#tables[i + 1] ?? ''} ${alias} ON ${on}`;
    });
    this.#from = `FROM ${this.#tables[0] ?? ''} t0${joins.join('')}`;
    this.#select = `SELECT ${exprs.join(', ')} ${this.#from}`;
  }

  // ── plumbing ────────────────────────────────────────────────────────────

  #wrap(operation: string, err: unknown): MidairError {
    if (err instanceof MidairError) return err;
    const { code, details } = this.#dialect.classifyError(err);
    const full = { ...details, store: this.name, operation };
    const hint =
      details.table === this.#mapping.tombstone.table
        ? "; run store.setup() to create midair's tombstone table"
        : details.table === this.#fenceTable
          ? "; run store.setup() to create midair's fence table"
          : '';
    return new MidairError(code, describeFailure(code, full) + hint, { cause: err, details: full });
  }

  #open(operation: string, options?: CallOptions): void {
    if (this.#closed) throw new MidairError('CLOSED', `${operation} on ${this.name}: the store is closed`);
    throwIfAborted(options?.signal, operation);
  }

  async #query(operation: string, sql: string, params: readonly unknown[]): Promise<{ rows: readonly (readonly unknown[])[]; affected: number }> {
    try {
      return await this.#driver.query(sql, params);
    } catch (err) {
      throw this.#wrap(operation, err);
    }
  }

  /**
   * Runs a write transaction, retrying it when the database aborts it for a
   * deadlock. With `options.fence`, the transaction's first statements check
   * the fence (and hold it to the end); without it, no statement is added.
   */
  async #write<T>(operation: string, options: CallOptions | undefined, fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
    const fence = options?.fence;
    if (fence) validateFence(fence, `${operation} on ${this.name}`);
    const fenced = fence
      ? async (conn: SqlConnection): Promise<T> => {
          await this.#fences.check(conn, fence, operation);
          return fn(conn);
        }
      : fn;
    const signal = options?.signal;
    // A caller that gave up (timeout, abort) stops at the next statement, releasing its locks early.
    const guarded = signal ? (conn: SqlConnection): Promise<T> => fenced(guardedConnection(conn, signal, operation)) : fenced;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, operation);
      try {
        return await this.#driver.transaction(guarded, this.#writeTx);
      } catch (err) {
        const error = this.#wrap(operation, err);
        if (error.code !== 'DEADLOCK' || attempt >= this.#retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  #decode(row: readonly unknown[]): E {
    const entity: Record<string, unknown> = {};
    const fields = this.#mapping.selectFields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as MappedField;
      const raw = row[i];
      entity[f.field] = raw === null || raw === undefined ? null : f.codec.decode(raw, this.#dialect.name);
    }
    return entity as E;
  }

  #decodeKey(row: readonly unknown[], offset = 0): K {
    const parts = this.#primary.keyColumns.map((f, i) => f.codec.decode(row[offset + i] as never, this.#dialect.name) as unknown);
    return (parts.length === 1 ? parts[0] : parts) as K;
  }

  /** Versions (or `undefined` for unversioned rows) of the keys that exist, locked for the transaction. */
  async #currentVersions(
    conn: SqlConnection,
    keys: readonly K[],
    table: string,
    version: MappedField | undefined,
    mapped: MappedTable = this.#primary,
  ): Promise<Map<string, Version | undefined>> {
    const found = new Map<string, Version | undefined>();
    const keyColumns = mapped.keyColumns.map((f) => this.#dialect.quoteId(f.column));
    const keyExprs = mapped.keyColumns.map((f) => readExpr(this.#dialect, f, this.#dialect.quoteId(f.column))).join(', ');
    for (const batch of chunked(keys, this.#batchRows(1))) {
      const params = new Params(this.#dialect);
      const where = keyIn(keyColumns, mapped.keyColumns, batch, params);
      const vexpr = version ? `, ${readExpr(this.#dialect, version, this.#dialect.quoteId(version.column))}` : '';
      const sql = `SELECT ${keyExprs}${vexpr} FROM ${table} WHERE ${where}${this.#dialect.forUpdate}`;
      const { rows } = await conn.query(sql, params.values);
      const arity = this.#keyCols.length;
      for (const row of rows) {
        const raw = version ? row[arity] : null;
        const v = raw === null || raw === undefined || !version ? undefined : (version.codec.decode(raw, this.#dialect.name) as Version);
        found.set(keyId(this.#decodeKey(row)), v);
      }
    }
    return found;
  }

  /** Rows per statement so that `columnsPerRow` parameters each stay under the dialect's limit. */
  #batchRows(columnsPerRow: number): number {
    return Math.max(1, Math.min(1000, Math.floor(this.#dialect.maxParams / Math.max(1, columnsPerRow * this.#keyCols.length))));
  }

  /** Writes prepared entities (their keys locked): insert where absent, overwrite where present; `fresh`: none of them has a row in the first table. */
  async #upsert(conn: SqlConnection, prepared: readonly Prepared<K>[], fresh = false): Promise<void> {
    const d = this.#dialect;
    if (prepared.length > 0 && prepared.every((p) => p.tuple)) {
      // Binary rows come only to a one-table PostgreSQL store that checked the COPY path exists.
      const columns = this.#primary.fields.map((f) => d.quoteId(f.column));
      const keyColumns = this.#primary.keyColumns.map((f) => d.quoteId(f.column));
      if (await d.bulkUpsertBinary?.(conn, this.#tables[0] as string, columns, keyColumns, prepared.map((p) => p.tuple as Buffer), fresh)) return;
      throw new MidairError('NOT_SUPPORTED', `${this.name}: rows read with a binary COPY need COPY to be written`);
    }
    for (let t = 0; t < this.#mapping.tables.length; t++) {
      const table = this.#mapping.tables[t] as MappedTable;
      const qualified = this.#tables[t] as string;
      const columns = table.fields.map((f) => d.quoteId(f.column));
      const keyColumns = table.keyColumns.map((f) => d.quoteId(f.column));
      const cellsOf = (p: Prepared<K>): readonly unknown[] => p.cells[t] as readonly unknown[];
      // The dialect's bulk path for larger batches of plain columns (PostgreSQL: COPY + merge; MySQL: one multi-row upsert).
      if (d.bulkUpsert && prepared.length >= BULK_MIN_ROWS && table.fields.every((f) => !wrapsWrites(f.codec, d.name))) {
        if (await d.bulkUpsert(conn, qualified, columns, keyColumns, prepared.map(cellsOf), fresh && t === 0)) continue;
      }
      let inserts = prepared;
      if (!d.upsertTargetsKeyOnly) {
        // Split by (locked) existence so that a clash on another unique key raises instead of updating that other row.
        const present = await this.#currentVersions(conn, prepared.map((p) => p.key), qualified, undefined, table);
        inserts = prepared.filter((p) => !present.has(p.id));
        const valueIndexes = table.fields.flatMap((f, i) => (f.isKey ? [] : [i]));
        for (const p of prepared.filter((x) => present.has(x.id))) {
          if (valueIndexes.length === 0) continue;
          const params = new Params(d);
          const sets = valueIndexes.map((i) => `${columns[i] ?? ''} = ${params.encoded(table.fields[i] as MappedField, cellsOf(p)[i])}`).join(', ');
          await conn.query(`UPDATE ${qualified} SET ${sets} WHERE ${keyEquals(keyColumns, table.keyColumns, p.key, params)}`, params.values);
        }
      }
      for (const batch of chunked(inserts, Math.max(1, Math.floor(d.maxParams / table.fields.length)))) {
        const params = new Params(d);
        const rows = batch.map((p) => table.fields.map((f, i) => params.encoded(f, cellsOf(p)[i])));
        const sql = d.upsertTargetsKeyOnly
          ? d.upsert(qualified, columns, keyColumns, rows)
          : `INSERT INTO ${qualified} (${columns.join(', ')}) VALUES ${rows.map((r) => `(${r.join(', ')})`).join(', ')}`;
        await conn.query(sql, params.values);
      }
    }
  }

  async #deleteTombstones(conn: SqlConnection, keys: readonly K[]): Promise<void> {
    for (const batch of chunked(keys, this.#batchRows(1))) {
      const params = new Params(this.#dialect);
      await conn.query(`DELETE FROM ${this.#tomb} WHERE ${keyIn(this.#keyCols, this.#primary.keyColumns, batch, params)}`, params.values);
    }
  }

  #prepare(entities: readonly E[]): Prepared<K>[] {
    return entities.map((entity) => {
      const key = this.keyOf(entity);
      const version = this.versionOf(entity);
      // Encode every field now, so a value that cannot be stored fails before anything is written.
      const cells = this.#mapping.tables.map((table) =>
        table.fields.map((f) => {
          const v = (entity as Record<string, unknown>)[f.field];
          if (v === null || v === undefined) return null;
          try {
            return f.codec.encode(v as never, this.#dialect.name);
          } catch (err) {
            throw new MidairError('ENCODING', `field "${f.field}" of key ${keyId(key)} cannot be stored in ${table.table}.${f.column}`, {
              cause: err,
              details: { store: this.name, field: f.field, table: table.table, column: f.column },
            });
          }
        }),
      );
      return { key, id: keyId(key), version, cells };
    });
  }

  // ── reads ───────────────────────────────────────────────────────────────

  async get(key: K, options?: CallOptions): Promise<E | undefined> {
    this.#open('get', options);
    const params = new Params(this.#dialect);
    const where = keyEquals(this.#keyCols0, this.#primary.keyColumns, key, params);
    const { rows } = await this.#query('get', `${this.#select} WHERE ${where}`, params.values);
    return rows[0] === undefined ? undefined : this.#decode(rows[0]);
  }

  /**
   * The key's row and tombstone at one instant: read under the key's lock,
   * the one every midair writer of this store takes first, so no write of the
   * key can fall between the two reads. Writes nothing.
   */
  async readKey(key: K, options?: CallOptions): Promise<KeyState<K, E>> {
    this.#open('readKey', options);
    const { signal } = options ?? {};
    return this.#write('readKey', signal ? { signal } : undefined, async (conn) => {
      const current = await this.#lockKey(conn, key);
      if (current.row) {
        const params = new Params(this.#dialect);
        const where = keyEquals(this.#keyCols0, this.#primary.keyColumns, key, params);
        const { rows } = await conn.query(`${this.#select} WHERE ${where}`, params.values);
        if (rows[0] !== undefined) return { entity: this.#decode(rows[0]) };
      }
      if (!current.tombstone) return {};
      const params = new Params(this.#dialect);
      const where = keyEquals(this.#keyCols, this.#primary.keyColumns, key, params);
      const dexpr = readExpr(this.#dialect, deletedAtField, this.#dialect.quoteId(TOMBSTONE_DELETED_AT_COLUMN));
      const { rows } = await conn.query(`SELECT ${dexpr} FROM ${this.#tomb} WHERE ${where}`, params.values);
      const deletedAt = rows[0] ? (deletedAtCodec.decode(rows[0][0], this.#dialect.name) as Date) : new Date(0);
      return { tombstone: { key, version: current.tombVersion, deletedAt } };
    });
  }

  async getMany(keys: readonly K[], options?: CallOptions): Promise<(E | undefined)[]> {
    this.#open('getMany', options);
    const found = new Map<string, E>();
    for (const batch of chunked(keys, this.#batchRows(1))) {
      throwIfAborted(options?.signal, 'getMany');
      const params = new Params(this.#dialect);
      const where = keyIn(this.#keyCols0, this.#primary.keyColumns, batch, params);
      const { rows } = await this.#query('getMany', `${this.#select} WHERE ${where}`, params.values);
      for (const row of rows) {
        const entity = this.#decode(row);
        found.set(keyId(this.keyOf(entity)), entity);
      }
    }
    return keys.map((k) => found.get(keyId(k)));
  }

  async count(options?: CallOptions): Promise<number> {
    this.#open('count', options);
    const { rows } = await this.#query('count', `SELECT COUNT(*) FROM ${this.#tables[0] ?? ''}`, []);
    return Number(rows[0]?.[0] ?? 0);
  }

  /** ` WHERE (after, through]` over t0's key columns, or nothing for an open range. */
  /** `key > ?` or `key <= ?` over t0's key columns, in the database's own order. */
  #keyBound(params: Params, op: '>' | '<=', key: K): string {
    const fields = this.#primary.keyColumns;
    const parts = fields.length === 1 ? [key] : (key as readonly unknown[]);
    return this.#dialect.keyCompare(this.#keyCols0, op, (i) => params.field(fields[i] as MappedField, parts[i]));
  }

  #rangeWhere(params: Params, range: KeyRange<K>): string {
    const conditions: string[] = [];
    for (const r of [range, ...(range.within ?? [])]) {
      if (r.after !== undefined) conditions.push(this.#keyBound(params, '>', r.after));
      if (r.through !== undefined) conditions.push(this.#keyBound(params, '<=', r.through));
    }
    return conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  }

  scan(options: ScanOptions<K> = {}): AsyncIterable<E[]> {
    return this.#keyset('scan', options, this.#select, (r) => this.#decode(r), (e) => this.keyOf(e));
  }

  scanKeys(options: ScanOptions<K> = {}): AsyncIterable<K[]> {
    return this.#keyset('scanKeys', options, `SELECT ${this.#keyReads0} FROM ${this.#tables[0] ?? ''} t0`, (r) => this.#decodeKey(r), (k) => k);
  }

  /** A keyset walk of `select` in key order, in chunks of decoded rows. */
  async *#keyset<T>(operation: string, options: ScanOptions<K>, select: string, decode: (row: readonly unknown[]) => T, keyOf: (item: T) => K): AsyncIterable<T[]> {
    const size = options.chunkSize ?? 1000;
    if (!Number.isSafeInteger(size) || size < 1) throw new MidairError('INVALID_ARGUMENT', `${operation}: chunkSize must be a positive integer`);
    const order = ` ORDER BY ${this.#keyCols0.join(', ')} LIMIT ${size}`;
    let after = options.after;
    for (;;) {
      this.#open(operation, options);
      const params = new Params(this.#dialect);
      const where = this.#rangeWhere(params, { after, through: options.through, within: options.within });
      const { rows } = await this.#query(operation, `${select}${where}${order}`, params.values);
      if (rows.length === 0) return;
      const chunk = rows.map(decode);
      // Taken before yielding: the consumer owns the chunk and may empty it.
      const last = keyOf(chunk[chunk.length - 1] as T);
      yield chunk;
      if (rows.length < size) return;
      after = last;
    }
  }

  async hasMany(keys: readonly K[], options?: CallOptions): Promise<boolean[]> {
    this.#open('hasMany', options);
    const found = new Set<string>();
    for (const batch of chunked(keys, this.#batchRows(1))) {
      throwIfAborted(options?.signal, 'hasMany');
      const params = new Params(this.#dialect);
      const where = keyIn(this.#keyCols0, this.#primary.keyColumns, batch, params);
      const { rows } = await this.#query('hasMany', `SELECT ${this.#keyReads0} FROM ${this.#tables[0] ?? ''} t0 WHERE ${where}`, params.values);
      for (const row of rows) found.add(keyId(this.#decodeKey(row)));
    }
    return keys.map((k) => found.has(keyId(k)));
  }

  // ── verification pushdown ───────────────────────────────────────────────

  hashUnsupported(ignore: ReadonlySet<string>): string | undefined {
    if (this.#driver.defineHashAggregate) return undefined;
    return hashUnsupportedReason(this.#dialect, this.#mapping as SqlMapping<object>, ignore);
  }

  async hashRange(range: KeyRange<K>, ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash> {
    return (await this.hashParts(range, [], ignore, options))[0] as RangeHash;
  }

  async hashParts(range: KeyRange<K>, splits: readonly K[], ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash[]> {
    this.#open('hashParts', options);
    const unsupported = this.hashUnsupported(ignore);
    if (unsupported) throw new MidairError('NOT_SUPPORTED', `hashParts on ${this.name}: ${unsupported}`, { details: { store: this.name, operation: 'hashParts' } });
    const params = new Params(this.#dialect);
    // Parameters are added in the order they appear in the text (MySQL's are positional).
    const bucket = splits.length === 0 ? '0' : `CASE ${splits.map((k, i) => `WHEN ${this.#keyBound(params, '<=', k)} THEN ${i}`).join(' ')} ELSE ${splits.length} END`;
    let sql: string;
    const define = this.#driver.defineHashAggregate?.bind(this.#driver);
    if (define) {
      const cacheKey = [...ignore].sort().join('\u0000');
      let aggregate = this.#hashAggregates.get(cacheKey);
      if (!aggregate) {
        const { columns, hashRow } = driverRowHash(this.#dialect, this.#mapping as SqlMapping<object>, ignore);
        aggregate = { name: `midair_hash_${++hashAggregateCount}`, columns };
        define(aggregate.name, hashRow);
        this.#hashAggregates.set(cacheKey, aggregate);
      }
      const where = this.#rangeWhere(params, range);
      sql = `SELECT ${bucket} AS b, COUNT(*), ${aggregate.name}(${aggregate.columns.join(', ')}) ${this.#from}${where} GROUP BY 1`;
    } else {
      const b = bucket;
      const expr = rowHashExpr(this.#dialect, this.#mapping as SqlMapping<object>, ignore, params);
      const where = this.#rangeWhere(params, range);
      sql = `SELECT b, COUNT(*), COALESCE(SUM(h), 0) FROM (SELECT ${b} AS b, ${expr} AS h ${this.#from}${where}) s GROUP BY b`;
    }
    const { rows } = await this.#query('hashParts', sql, params.values);
    const parts: RangeHash[] = Array.from({ length: splits.length + 1 }, () => ({ count: 0, sum: 0n }));
    for (const row of rows) parts[Number(cellText(row[0]) ?? 0)] = { count: Number(cellText(row[1]) ?? 0), sum: BigInt(cellText(row[2]) ?? '0') };
    return parts;
  }

  async keyAt(range: KeyRange<K>, offset: number, options?: CallOptions): Promise<K | undefined> {
    this.#open('keyAt', options);
    if (!Number.isSafeInteger(offset) || offset < 1) throw new MidairError('INVALID_ARGUMENT', 'keyAt: offset must be a positive integer');
    const params = new Params(this.#dialect);
    const where = this.#rangeWhere(params, range);
    const sql = `SELECT ${this.#keyReads0} FROM ${this.#tables[0] ?? ''} t0${where} ORDER BY ${this.#keyCols0.join(', ')} LIMIT 1 OFFSET ${offset - 1}`;
    const { rows } = await this.#query('keyAt', sql, params.values);
    return rows[0] === undefined ? undefined : this.#decodeKey(rows[0]);
  }

  async sampleKeys(count: number, options?: CallOptions): Promise<K[]> {
    this.#open('sampleKeys', options);
    if (!Number.isSafeInteger(count) || count < 1) return [];
    // Sorted by the database itself, so the keys are in the order its scans use.
    const keyExprs = this.#primary.keyColumns.map((f) => readExpr(this.#dialect, f, `s.${this.#dialect.quoteId(f.column)}`));
    const sql =
      `SELECT ${keyExprs.join(', ')} FROM (SELECT ${this.#keyCols.join(', ')} FROM ${this.#tables[0] ?? ''} ORDER BY ${this.#dialect.randomOrder} LIMIT ${count}) s ` +
      `ORDER BY ${this.#keyCols.map((c) => `s.${c}`).join(', ')}`;
    const { rows } = await this.#query('sampleKeys', sql, []);
    return rows.map((r) => this.#decodeKey(r));
  }

  async getTombstone(key: K, options?: CallOptions): Promise<Tombstone<K> | undefined> {
    this.#open('getTombstone', options);
    const params = new Params(this.#dialect);
    const where = keyEquals(this.#keyCols, this.#primary.keyColumns, key, params);
    const vexpr = this.#tombVersion ? readExpr(this.#dialect, this.#tombVersion, this.#dialect.quoteId(TOMBSTONE_VERSION_COLUMN)) : 'NULL';
    const dexpr = readExpr(this.#dialect, deletedAtField, this.#dialect.quoteId(TOMBSTONE_DELETED_AT_COLUMN));
    const { rows } = await this.#query('getTombstone', `SELECT ${vexpr}, ${dexpr} FROM ${this.#tomb} WHERE ${where}`, params.values);
    const row = rows[0];
    if (!row) return undefined;
    const name = this.#dialect.name;
    const version = row[0] === null || row[0] === undefined || !this.#tombVersion ? undefined : (this.#tombVersion.codec.decode(row[0], name) as Version);
    return { key, version, deletedAt: deletedAtCodec.decode(row[1], name) as Date };
  }

  // ── writes ──────────────────────────────────────────────────────────────

  async put(entity: E, options?: PutOptions): Promise<void> {
    this.#open('put', options);
    const [prepared] = this.#prepare([entity]);
    if (!prepared) return;
    await this.#write('put', options, async (conn) => {
      await this.#dialect.lockKeys(conn, this.#lockNamespace, [prepared.id]);
      if (!options?.keepTombstone) await this.#deleteTombstones(conn, [prepared.key]);
      await this.#upsert(conn, [prepared]);
    });
  }

  async delete(key: K, options?: DeleteOptions): Promise<boolean> {
    this.#open('delete', options);
    const version = options?.version;
    if (version !== undefined && !this.capabilities.versioned) {
      throw new MidairError('INVALID_ARGUMENT', `delete on ${this.name}: a version was given but the mapping has no version field`);
    }
    const tombstone = options?.tombstone ?? true;
    return this.#write('delete', options, async (conn) => {
      const current = await this.#lockKey(conn, key);
      if (current.row && !deleteAllowed(version, current.rowVersion)) return false;
      return this.#deleteLocked(conn, key, current, tombstone ? { version } : undefined);
    });
  }

  async syncKey(key: K, read: () => Promise<E | undefined>, options?: CallOptions): Promise<SyncResult> {
    this.#open('syncKey', options);
    return this.#write('syncKey', options, async (conn) => {
      const current = await this.#lockKey(conn, key);
      const value = await read();
      if (value === undefined) return (await this.#deleteLocked(conn, key, current, { version: undefined })) ? 'deleted' : 'absent';
      const [prepared] = this.#prepare([value]);
      if (!prepared || prepared.id !== keyId(key)) {
        throw new MidairError('INVALID_ARGUMENT', `syncKey on ${this.name}: the source returned an entity of another key`);
      }
      if (current.tombstone) await this.#deleteTombstones(conn, [key]);
      await this.#upsert(conn, [prepared]);
      return 'put';
    });
  }

  async syncMany(keys: readonly K[], read: (keys: readonly K[]) => Promise<readonly (E | undefined | null)[]>, options?: CallOptions): Promise<SyncManyResult> {
    // One batch at a time: `read` may need a connection of the pool this store's batch holds one of
    // (old and new in one database), and two batches each waiting for a second connection of a pool of two never end.
    return this.#syncBatches('syncMany', keys, options, 1, async (batch) => {
      const values = await read(batch);
      return batch.map((key, i) => {
        const value = values[i];
        if (value === null || value === undefined) return value;
        const [prepared] = this.#prepare([value]);
        if (prepared?.id !== keyId(key)) throw new MidairError('INVALID_ARGUMENT', `syncMany on ${this.name}: the source returned an entity of another key`);
        return prepared;
      });
    });
  }

  /**
   * The fields of a same-engine copy as the database prints them: where two
   * stores share it, one can take the other's rows as they are, with no
   * decoding and encoding in between. Only for PostgreSQL, one table, and
   * built-in codecs (each prints a value its own type reads back unchanged).
   */
  #computeRowFormat(): string | undefined {
    if (this.#dialect.name !== 'postgres' || this.#mapping.tables.length !== 1) return undefined;
    const fields = this.#primary.fields;
    if (fields.some((f) => f.codec.type.startsWith('custom:') || wrapsReads(f.codec, this.#dialect.name) || wrapsWrites(f.codec, this.#dialect.name))) return undefined;
    return fields.map((f) => `${f.field}:${f.codec.type}`).sort().join(',');
  }

  /**
   * {@link syncMany} from another store of the same engine and shape: the
   * source's rows go in as the database prints them (decided per call;
   * `undefined` when the two cannot, and nothing was done).
   */
  async syncManyFrom(keys: readonly K[], source: Store<K, E>, options?: CallOptions): Promise<SyncManyResult | undefined> {
    if (!(source instanceof SqlStore)) return undefined;
    const from = source as SqlStore<K, E>;
    if (this.#rowFormat === undefined || this.#rowFormat !== from.#rowFormat) return undefined;
    const [mine, theirs] = await Promise.all([this.#copyShape(), from.#copyShape()]);
    if (mine.text === undefined || mine.text !== theirs.text) return undefined;
    // The same column types too: rows cross as binary COPY tuples, parsed by neither side.
    const binary = mine.binary !== undefined && mine.binary === theirs.binary;
    // One pool for both: old is read on the batch's own connection, so a batch never waits for a second one.
    const shared = this.#driver === from.#driver || (this.#driver.pool !== undefined && this.#driver.pool === from.#driver.pool);
    const fields = this.#primary.fields.map((f) => f.field);
    return this.#syncBatches('syncManyFrom', keys, options, this.#bulkConcurrency, async (batch, conn) => {
      const via = shared ? conn : undefined;
      const found = binary ? await from.#readTuples(batch, fields, options, via) : undefined;
      if (!found) return asPrepared(batch, await from.#readCells(batch, fields, options, via)); // as text (also where COPY is not installed)
      return batch.map((key) => {
        const tuple = found.get(keyId(key));
        return tuple === undefined ? undefined : { key, id: keyId(key), version: undefined, cells: [], tuple };
      });
    });
  }

  /**
   * What a same-engine copy must agree on, read from the catalog on every
   * call (so a changed column is never written with the old type's bytes):
   * `text` — the fields, their codecs, and the column types of those whose
   * input rounds (timestamps: text a finer column printed would be rounded,
   * where the codec floors); `binary` — every column type, with one integer
   * key column (the binary rows are read with the keys written into the
   * statement) and COPY on both ends.
   */
  async #copyShape(): Promise<{ readonly text?: string; readonly binary?: string }> {
    const format = this.#rowFormat;
    if (format === undefined) return {};
    const info = await this.#introspect(this.#primary.table, this.#primary.schema).catch(() => undefined);
    const typeOf = (f: MappedField): string | undefined => info?.columns.get(f.column)?.type;
    const fields = this.#primary.fields;
    if (!info || fields.some((f) => typeOf(f) === undefined)) return {};
    const text = fields.map((f) => `${f.field}:${f.codec.type}${ROUNDING_CODECS.has(f.codec.type) ? `=${typeOf(f) ?? ''}` : ''}`).sort().join(',');
    const keyType = typeOf(this.#primary.keyColumns[0] as MappedField);
    const canBinary = this.#primary.keyColumns.length === 1 && keyType !== undefined && INTEGER_KEY_TYPES.has(keyType) && this.#dialect.binaryTuples !== undefined && this.#dialect.bulkUpsertBinary !== undefined;
    if (!canBinary) return { text };
    return { text, binary: `${keyType};${fields.map((f) => `${f.field}:${typeOf(f) ?? ''}`).sort().join(',')}` };
  }

  /** The rows of `keys` as binary COPY tuples, their fields in the order of `fields`, by key id; `undefined` where the driver cannot COPY. */
  async #readTuples(keys: readonly K[], fields: readonly string[], options?: CallOptions, conn?: SqlConnection): Promise<Map<string, Buffer> | undefined> {
    const d = this.#dialect;
    const byField = new Map(this.#primary.fields.map((f) => [f.field, f]));
    const columns = fields.map((name) => `t0.${d.quoteId((byField.get(name) as MappedField).column)}`);
    const keyField = this.#primary.keyColumns[0] as MappedField;
    const keyAt = fields.indexOf(keyField.field);
    const found = new Map<string, Buffer>();
    for (const batch of chunked(keys, this.#batchRows(1))) {
      throwIfAborted(options?.signal, 'syncManyFrom');
      // COPY takes no parameters: the keys are written in, as integers only (checked, never quoted text).
      const ids = batch.map((k) => String(k));
      if (ids.some((id) => !/^-?\d{1,19}$/.test(id))) throw new MidairError('INVALID_ARGUMENT', `syncManyFrom on ${this.name}: a key is not an integer`);
      const sql = `COPY (SELECT ${columns.join(', ')} FROM ${this.#tables[0] ?? ''} t0 WHERE t0.${d.quoteId(keyField.column)} = ANY('{${ids.join(',')}}'::bigint[])) TO STDOUT (FORMAT binary)`;
      const data = await (conn ?? this.#driver).copyOut?.(sql);
      if (!data) return undefined;
      for (const { key, tuple } of d.binaryTuples?.(data, keyAt) ?? []) found.set(keyId(keyField.codec.decode(key, d.name)), tuple);
    }
    return found;
  }

  /** The rows of `keys` as the database prints them, their cells in the order of `fields`, by key id. */
  async #readCells(keys: readonly K[], fields: readonly string[], options?: CallOptions, conn?: SqlConnection): Promise<Map<string, unknown[]>> {
    const byField = new Map(this.#primary.fields.map((f) => [f.field, f]));
    const columns = fields.map((name) => `t0.${this.#dialect.quoteId((byField.get(name) as MappedField).column)}`);
    const keyAt = this.#primary.keyColumns.map((k) => fields.indexOf(k.field));
    const found = new Map<string, unknown[]>();
    for (const batch of chunked(keys, this.#batchRows(1))) {
      throwIfAborted(options?.signal, 'syncManyFrom');
      const params = new Params(this.#dialect);
      const where = keyIn(this.#keyCols0, this.#primary.keyColumns, batch, params);
      const sql = `SELECT ${columns.join(', ')} FROM ${this.#tables[0] ?? ''} t0 WHERE ${where}`;
      const { rows } = conn ? await conn.query(sql, params.values) : await this.#query('syncManyFrom', sql, params.values);
      for (const row of rows) found.set(keyId(this.#decodeKey(keyAt.map((i) => row[i]))), row as unknown[]);
    }
    return found;
  }

  /**
   * The core of a sync by many keys: per batch of keys (several batches at
   * once), their locks, then `fetch` (the source's current rows, prepared:
   * `undefined` to delete, `null` to leave alone), then the writes.
   */
  async #syncBatches(
    operation: string,
    keys: readonly K[],
    options: CallOptions | undefined,
    lanes: number,
    fetch: (batch: readonly K[], conn: SqlConnection) => Promise<readonly (Prepared<K> | undefined | null)[]>,
  ): Promise<SyncManyResult> {
    this.#open(operation, options);
    const result = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).values()];
    const widest = Math.max(...this.#mapping.tables.map((t) => t.fields.length));
    const notDone = new Set(unique.map((k) => keyId(k)));
    const batches = chunked(unique, this.#batchRows(Math.ceil(widest / this.#keyCols.length)));
    try {
      await forEachLimit(batches, lanes, async (batch) => {
        const part = await this.#write(operation, options, async (conn) => {
          const counts = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
          const { tombs, rows } = await this.#lockMany(conn, batch);
          const values = await fetch(batch, conn);
          const puts: Prepared<K>[] = [];
          const gone: K[] = [];
          batch.forEach((key, i) => {
            const value = values[i];
            const id = keyId(key);
            if (value === null) counts.unchanged++;
            else if (value === undefined) {
              if (rows.has(id)) counts.deleted++;
              else counts.unchanged++;
              gone.push(key);
            } else {
              counts[rows.has(id) ? 'updated' : 'inserted']++;
              puts.push(value);
            }
          });
          const cleared = puts.filter((p) => tombs.has(p.id)).map((p) => p.key);
          if (cleared.length > 0) await this.#deleteTombstones(conn, cleared);
          if (puts.length > 0) await this.#upsert(conn, puts, puts.every((p) => !rows.has(p.id)));
          for (const key of gone) {
            const id = keyId(key);
            await this.#deleteLocked(conn, key, { tombVersion: tombs.get(id), rowVersion: rows.get(id) }, { version: undefined });
          }
          return counts;
        });
        addCounts(result, part);
        for (const key of batch) notDone.delete(keyId(key));
      });
    } catch (error) {
      // Batches that committed stay written: say so, so a retry key by key redoes (and counts) only the rest.
      if (error instanceof MidairError && notDone.size < unique.length) throw new PartialSyncError(error, result, [...notDone]);
      throw error;
    }
    return result;
  }

  /**
   * Takes the key's lock and reads its tombstone, then its row, both locked
   * (tombstone first, then rows: the one lock order of every midair writer).
   */
  async #lockKey(conn: SqlConnection, key: K): Promise<{ tombstone: boolean; tombVersion?: Version; row: boolean; rowVersion?: Version }> {
    const id = keyId(key);
    const { tombs, rows } = await this.#lockMany(conn, [key]);
    return { tombstone: tombs.has(id), tombVersion: tombs.get(id), row: rows.has(id), rowVersion: rows.get(id) };
  }

  /**
   * The one way every midair writer begins: the keys' locks in sorted order,
   * then their tombstones, then their rows, both read locked — so decisions
   * are made on the latest committed state, and writers never deadlock each other.
   */
  async #lockMany(conn: SqlConnection, keys: readonly K[]): Promise<{ tombs: Map<string, Version | undefined>; rows: Map<string, Version | undefined> }> {
    await this.#dialect.lockKeys(conn, this.#lockNamespace, keys.map((k) => keyId(k)).sort());
    const tombs = await this.#currentVersions(conn, keys, this.#tomb, this.#tombVersion);
    const rows = await this.#currentVersions(conn, keys, this.#tables[0] as string, this.#versionMapped);
    return { tombs, rows };
  }

  /** Deletes the key's rows (secondary tables first) and records its tombstone at the greatest version known. */
  async #deleteLocked(
    conn: SqlConnection,
    key: K,
    current: { tombVersion?: Version; rowVersion?: Version },
    tombstone: { version: Version | undefined } | undefined,
  ): Promise<boolean> {
    let deleted = 0;
    for (let t = this.#tables.length - 1; t >= 0; t--) {
      const table = this.#mapping.tables[t] as MappedTable;
      const params = new Params(this.#dialect);
      const where = keyEquals(table.keyColumns.map((f) => this.#dialect.quoteId(f.column)), table.keyColumns, key, params);
      const res = await conn.query(`DELETE FROM ${this.#tables[t] ?? ''} WHERE ${where}`, params.values);
      if (t === 0) deleted = res.affected;
    }
    if (tombstone) {
      const params = new Params(this.#dialect);
      const keyFields = this.#primary.keyColumns;
      const parts = keyFields.length === 1 ? [key] : (key as readonly unknown[]);
      const cols = [...this.#keyCols];
      const values = keyFields.map((f, i) => params.field(f, parts[i]));
      if (this.#tombVersion) {
        cols.push(this.#dialect.quoteId(TOMBSTONE_VERSION_COLUMN));
        values.push(params.field(this.#tombVersion, maxVersion(maxVersion(current.tombVersion, current.rowVersion), tombstone.version) ?? null));
      }
      cols.push(this.#dialect.quoteId(TOMBSTONE_DELETED_AT_COLUMN));
      values.push(params.field(deletedAtField, new Date()));
      await conn.query(this.#dialect.upsert(this.#tomb, cols, this.#keyCols, [values]), params.values);
    }
    return deleted > 0;
  }

  async writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    this.#open('writeIfNewer', options);
    const result = emptyBulkResult();
    // Within one call, a key given twice keeps what writing them in order would keep.
    const latest = new Map<string, Prepared<K>>();
    for (const p of this.#prepare(entities)) {
      const seen = latest.get(p.id);
      if (seen && decideWrite(p.version, { version: seen.version }, undefined) !== 'update') {
        result.skippedExisting++;
        continue;
      }
      if (seen) result.skippedExisting++;
      latest.set(p.id, p);
    }
    const widest = Math.max(...this.#mapping.tables.map((t) => t.fields.length));
    await forEachLimit(chunked([...latest.values()], this.#batchRows(Math.ceil(widest / this.#keyCols.length))), this.#bulkConcurrency, async (batch) => {
      const part = await this.#write('writeIfNewer', options, async (conn) => {
        const counts = emptyBulkResult();
        const keys = batch.map((p) => p.key);
        const { tombs, rows: existing } = await this.#lockMany(conn, keys);
        const writes: Prepared<K>[] = [];
        const passedTombstones: K[] = [];
        for (const p of batch) {
          const decision = decideWrite(
            p.version,
            existing.has(p.id) ? { version: existing.get(p.id) } : undefined,
            tombs.has(p.id) ? { version: tombs.get(p.id) } : undefined,
          );
          if (decision === 'insert' || decision === 'update') {
            writes.push(p);
            if (tombs.has(p.id)) passedTombstones.push(p.key);
            counts[decision === 'insert' ? 'inserted' : 'updated']++;
          } else {
            counts[decision]++;
          }
        }
        if (passedTombstones.length > 0) await this.#deleteTombstones(conn, passedTombstones);
        if (writes.length > 0) await this.#upsert(conn, writes, writes.every((p) => !existing.has(p.id)));
        return counts;
      });
      addCounts(result, part);
    });
    return result;
  }

  async purgeTombstones(options?: CallOptions): Promise<number> {
    this.#open('purgeTombstones', options);
    const { affected } = await this.#query('purgeTombstones', `DELETE FROM ${this.#tomb}`, []);
    return affected;
  }

  // ── fencing ─────────────────────────────────────────────────────────────

  async raiseFence(fence: Fence, options?: CallOptions): Promise<void> {
    this.#open('raiseFence', options);
    validateFence(fence, `raiseFence on ${this.name}`);
    // Not itself fenced: the raise is what moves the fence.
    await this.#write('raiseFence', { ...(options?.signal ? { signal: options.signal } : {}) }, async (conn) => this.#fences.raise(conn, fence));
  }

  async fenceOf(migration: string, options?: CallOptions): Promise<number> {
    this.#open('fenceOf', options);
    validateMigrationName(migration, `fenceOf on ${this.name}`);
    try {
      return (await this.#fences.read(this.#driver, migration)) ?? 0;
    } catch (err) {
      throw this.#wrap('fenceOf', err);
    }
  }

  // ── schema ──────────────────────────────────────────────────────────────

  async #introspect(table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    try {
      return await this.#dialect.introspect(this.#driver, table, schema);
    } catch (err) {
      throw this.#wrap('check', err);
    }
  }

  async setup(options?: CallOptions): Promise<void> {
    this.#open('setup', options);
    const info = await this.#introspect(this.#primary.table, this.#primary.schema);
    if (!info) {
      throw new MidairError('SCHEMA_MISMATCH', `setup on ${this.name}: table ${this.#primary.table} does not exist; create it before midair's tombstone table`, {
        details: { store: this.name, operation: 'setup', table: this.#primary.table },
      });
    }
    const typeOf = (f: MappedField): string => {
      const column = info.columns.get(f.column);
      if (!column) {
        throw new MidairError('SCHEMA_MISMATCH', `setup on ${this.name}: column ${this.#primary.table}.${f.column} does not exist (run check() for the full report)`, {
          details: { store: this.name, operation: 'setup', table: this.#primary.table, column: f.column },
        });
      }
      return column.type;
    };
    const q = (s: string): string => this.#dialect.quoteId(s);
    const defs = this.#primary.keyColumns.map((f) => `${q(f.column)} ${typeOf(f)} NOT NULL`);
    if (this.#versionMapped) defs.push(`${q(TOMBSTONE_VERSION_COLUMN)} ${typeOf(this.#versionMapped)} NULL`);
    defs.push(`${q(TOMBSTONE_DELETED_AT_COLUMN)} ${this.#dialect.deletedAtColumn()}`);
    defs.push(`PRIMARY KEY (${this.#keyCols.join(', ')})`);
    await this.#query('setup', `CREATE TABLE IF NOT EXISTS ${this.#tomb} (${defs.join(', ')})`, []);
    await this.#query('setup', this.#fences.createTable(), []);
  }

  async check(options?: CallOptions): Promise<CheckReport> {
    this.#open('check', options);
    const infos = [];
    for (const t of this.#mapping.tables) infos.push(await this.#introspect(t.table, t.schema));
    const tomb = await this.#introspect(this.#mapping.tombstone.table, this.#mapping.tombstone.schema);
    const fence = await this.#introspect(this.#fenceTable, this.#mapping.tombstone.schema);
    const problems = checkSchema(this.#mapping, this.#dialect.name, infos, tomb, { table: this.#fenceTable, info: fence });
    return { store: this.name, ok: !problems.some((p) => p.severity === 'error'), problems, uniques: uniqueFieldsOf(this.#mapping, infos) };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }
}
