import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import type { Version } from '../core/versions.js';
import { wrapsWrites } from '../mapping/codecs.js';
import type { MappedField, MappedTable } from '../mapping/mapping.js';
import { chunked } from '../core/collections.js';
import { fencesOf, validateFences } from '../core/fence-rules.js';
import type { SqlConnection } from './sql-driver.js';
import { marking } from './sql-errors.js';
import type { Prepared } from './sql-row-codec.js';
import type { StoreParts } from './sql-store-parts.js';

/** Batches this large take the engine's bulk path (COPY on PostgreSQL), when it has one. */
const BULK_MIN_ROWS = 2;

/** A key's state, read under its lock. */
export interface LockedKey {
  readonly tombstone: boolean;
  readonly tombVersion?: Version | undefined;
  readonly row: boolean;
  readonly rowVersion?: Version | undefined;
}

/**
 * The statements inside a write transaction: the keys' locks and locked
 * reads, upserts, deletes and tombstones. Every midair writer begins the
 * same way — the keys' locks in sorted order, then their tombstones, then
 * their rows, both read locked — so decisions are made on the latest
 * committed state, and writers never deadlock each other (decision 0002).
 */
export class SqlWriteEngine<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;
  /** Lock ids hash the bare table name: a collision only serialises more, a miss would not serialise at all. */
  readonly #lockNamespace: string;

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
    this.#lockNamespace = parts.sql.primary.table;
  }

  /**
   * Runs a write transaction, retried on deadlock. With `options.fence` (or
   * `options.lease`, or both), the transaction's first statement checks them
   * (and holds them to the end); without either, no statement is added.
   */
  async write<T>(
    operation: string,
    options: CallOptions | undefined,
    fn: (conn: SqlConnection) => Promise<T>,
  ): Promise<T> {
    const { fences, runner, dialect, name } = this.#p;
    validateFences(options, `${operation} on ${name}`);
    const held = fencesOf(options);
    const fenced =
      held.length > 0
        ? async (conn: SqlConnection): Promise<T> => {
            await fences.check(conn, held, operation);
            return fn(conn);
          }
        : fn;
    return runner.transaction(operation, fenced, { tx: dialect.writeTransaction, signal: options?.signal });
  }

  /** Takes only the keys' locks (a write that reads nothing first). */
  async lockOnly(conn: SqlConnection, ids: readonly string[]): Promise<void> {
    await this.#p.dialect.lockKeys(conn, this.#lockNamespace, ids);
  }

  async lockKey(conn: SqlConnection, key: K): Promise<LockedKey> {
    const id = keyId(key);
    const { tombs, rows } = await this.lockMany(conn, [key]);
    return { tombstone: tombs.has(id), tombVersion: tombs.get(id), row: rows.has(id), rowVersion: rows.get(id) };
  }

  /** The keys' locks, then their tombstones, then their rows (versions by key id). */
  async lockMany(
    conn: SqlConnection,
    keys: readonly K[],
  ): Promise<{ tombs: Map<string, Version | undefined>; rows: Map<string, Version | undefined> }> {
    const { sql } = this.#p;
    await this.lockOnly(conn, keys.map((k) => keyId(k)).sort());
    const tombs = await this.#currentVersions(conn, keys, sql.tomb, sql.tombVersion, sql.primary);
    const rows = await this.#currentVersions(conn, keys, sql.table0, sql.versionMapped, sql.primary);
    return { tombs, rows };
  }

  /** Versions (or `undefined` for unversioned rows) of the keys that exist, locked for the transaction. */
  async #currentVersions(
    conn: SqlConnection,
    keys: readonly K[],
    table: string,
    version: MappedField | undefined,
    mapped: MappedTable,
  ): Promise<Map<string, Version | undefined>> {
    const { sql, writeSql, codec } = this.#p;
    const found = new Map<string, Version | undefined>();
    const arity = sql.keyCols.length;
    for (const batch of chunked(keys, sql.batchRows(1))) {
      const statement = writeSql.lockedVersions(batch, table, version, mapped);
      const { rows } = await conn.query(statement.sql, statement.params);
      for (const row of rows)
        found.set(keyId(codec.decodeKey(row)), codec.decodeVersion(version, version ? row[arity] : null));
    }
    return found;
  }

  /**
   * Writes prepared entities (their keys locked): insert where absent,
   * overwrite where present; `fresh`: none of them has a row in the first
   * table. A failure is marked with the table and, for one entity, its key.
   */
  async upsert(conn: SqlConnection, prepared: readonly Prepared<K>[], fresh = false): Promise<void> {
    const { dialect, writeSql, mapping, name } = this.#p;
    const key = prepared.length === 1 ? { key: (prepared[0] as Prepared<K>).id } : {};
    if (prepared.length > 0 && prepared.every((p) => p.tuple)) {
      // Binary rows come only to a one-table PostgreSQL store that checked the COPY path exists.
      const { table, qualified, columns, keyColumns } = writeSql.table(0);
      const tuples = prepared.map((p) => p.tuple as Buffer);
      const done = await marking({ table: table.table, ...key }, async () =>
        dialect.bulkUpsertBinary?.(conn, qualified, columns, keyColumns, tuples, fresh),
      );
      if (done) return;
      throw new MidairError('NOT_SUPPORTED', `${name}: rows read with a binary COPY need COPY to be written`);
    }
    for (let t = 0; t < mapping.tables.length; t++)
      await marking({ table: writeSql.table(t).table.table, ...key }, async () =>
        this.#upsertTable(conn, t, prepared, fresh && t === 0),
      );
  }

  /** {@link upsert} into the mapping's `t`-th table. */
  async #upsertTable(conn: SqlConnection, t: number, prepared: readonly Prepared<K>[], fresh: boolean): Promise<void> {
    const { dialect, writeSql } = this.#p;
    const { table, qualified, columns, keyColumns } = writeSql.table(t);
    const cellsOf = (p: Prepared<K>): readonly unknown[] => p.cells[t] as readonly unknown[];
    // The engine's bulk path for larger batches of plain columns (PostgreSQL: COPY + merge; MySQL: one multi-row upsert).
    if (
      dialect.bulkUpsert &&
      prepared.length >= BULK_MIN_ROWS &&
      table.fields.every((f) => !wrapsWrites(f.codec, dialect.name))
    ) {
      if (await dialect.bulkUpsert(conn, qualified, columns, keyColumns, prepared.map(cellsOf), fresh)) return;
    }
    let inserts = prepared;
    if (!dialect.compiler.upsertTargetsKeyOnly) {
      // Split by (locked) existence so that a clash on another unique key raises instead of updating that other row.
      const present = await this.#currentVersions(
        conn,
        prepared.map((p) => p.key),
        qualified,
        undefined,
        table,
      );
      inserts = prepared.filter((p) => !present.has(p.id));
      for (const p of prepared.filter((x) => present.has(x.id))) {
        const update = writeSql.updateRow(t, p.key, cellsOf(p));
        if (update) await conn.query(update.sql, update.params);
      }
    }
    for (const batch of chunked(inserts, Math.max(1, Math.floor(dialect.compiler.maxParams / table.fields.length)))) {
      const statement = writeSql.writeRows(t, batch.map(cellsOf));
      await conn.query(statement.sql, statement.params);
    }
  }

  async deleteTombstones(conn: SqlConnection, keys: readonly K[]): Promise<void> {
    const { sql, writeSql } = this.#p;
    for (const batch of chunked(keys, sql.batchRows(1))) {
      const statement = writeSql.deleteTombstones(batch);
      await conn.query(statement.sql, statement.params);
    }
  }

  /** Deletes the key's rows (secondary tables first) and records its tombstone at the greatest version known. */
  async deleteLocked(
    conn: SqlConnection,
    key: K,
    current: { tombVersion?: Version | undefined; rowVersion?: Version | undefined },
    tombstone: { version: Version | undefined } | undefined,
  ): Promise<boolean> {
    const { sql, writeSql } = this.#p;
    let deleted = 0;
    for (let t = sql.tables.length - 1; t >= 0; t--) {
      const statement = writeSql.deleteRow(t, key);
      const res = await marking({ table: writeSql.table(t).table.table, key: keyId(key) }, async () =>
        conn.query(statement.sql, statement.params),
      );
      if (t === 0) deleted = res.affected;
    }
    if (tombstone) {
      const statement = writeSql.recordTombstone(key, current, tombstone.version);
      await conn.query(statement.sql, statement.params);
    }
    return deleted > 0;
  }
}
