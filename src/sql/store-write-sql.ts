import type { Key } from '../core/keys.js';
import { maxVersion } from '../core/entity.js';
import type { Version } from '../core/versions.js';
import type { MappedField, MappedTable, SqlMapping } from '../mapping/mapping.js';
import { valuesList } from './sql-compiler.js';
import { deletedAtField, TOMBSTONE_DELETED_AT_COLUMN, TOMBSTONE_VERSION_COLUMN } from './sql-row-codec.js';
import { keyEquals, keyIn, readExpr, type Statement } from './sql-statements.js';
import type { StoreSql } from './store-sql.js';

/** A table's columns as the statements name them. */
export interface TableColumns {
  readonly table: MappedTable;
  readonly qualified: string;
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
}

/** The write statements of one store (the reads' shape, {@link StoreSql}): pure text and parameters, no I/O. */
export class StoreWriteSql {
  readonly #sql: StoreSql;
  readonly #mapping: SqlMapping<object>;

  constructor(sql: StoreSql, mapping: SqlMapping<object>) {
    this.#sql = sql;
    this.#mapping = mapping;
  }

  /** Table `t` of the mapping (0: the primary). */
  table(t: number): TableColumns {
    const table = this.#mapping.tables[t] as MappedTable;
    const q = (f: MappedField): string => this.#sql.compiler.quoteId(f.column);
    return {
      table,
      qualified: this.#sql.tables[t] as string,
      columns: table.fields.map(q),
      keyColumns: table.keyColumns.map(q),
    };
  }

  /** The keys (and versions) of those of `keys` that exist in `table`, locked. */
  lockedVersions(
    keys: readonly Key[],
    table: string,
    version: MappedField | undefined,
    mapped: MappedTable,
  ): Statement {
    const c = this.#sql.compiler;
    const keyColumns = mapped.keyColumns.map((f) => c.quoteId(f.column));
    const keyExprs = mapped.keyColumns.map((f) => readExpr(c, f, c.quoteId(f.column))).join(', ');
    const params = this.#sql.params();
    const where = keyIn(keyColumns, mapped.keyColumns, keys, params);
    const vexpr = version ? `, ${readExpr(c, version, c.quoteId(version.column))}` : '';
    return { sql: `SELECT ${keyExprs}${vexpr} FROM ${table} WHERE ${where}${c.forUpdate}`, params: params.values };
  }

  deleteTombstones(keys: readonly Key[]): Statement {
    const params = this.#sql.params();
    return {
      sql: `DELETE FROM ${this.#sql.tomb} WHERE ${keyIn(this.#sql.keyCols, this.#sql.primary.keyColumns, keys, params)}`,
      params: params.values,
    };
  }

  purgeTombstones(): string {
    return `DELETE FROM ${this.#sql.tomb}`;
  }

  /** Deletes the key's row of table `t`. */
  deleteRow(t: number, key: Key): Statement {
    const { table, qualified, keyColumns } = this.table(t);
    const params = this.#sql.params();
    return {
      sql: `DELETE FROM ${qualified} WHERE ${keyEquals(keyColumns, table.keyColumns, key, params)}`,
      params: params.values,
    };
  }

  /** Records the key's tombstone at the greatest of the versions known (now as its deletion time). */
  recordTombstone(
    key: Key,
    current: { readonly tombVersion?: Version | undefined; readonly rowVersion?: Version | undefined },
    version: Version | undefined,
  ): Statement {
    const sql = this.#sql;
    const params = sql.params();
    const keyFields = sql.primary.keyColumns;
    const parts = keyFields.length === 1 ? [key] : (key as readonly unknown[]);
    const cols = [...sql.keyCols];
    const values = keyFields.map((f, i) => params.field(f, parts[i]));
    if (sql.tombVersion) {
      cols.push(sql.compiler.quoteId(TOMBSTONE_VERSION_COLUMN));
      values.push(
        params.field(sql.tombVersion, maxVersion(maxVersion(current.tombVersion, current.rowVersion), version) ?? null),
      );
    }
    cols.push(sql.compiler.quoteId(TOMBSTONE_DELETED_AT_COLUMN));
    values.push(params.field(deletedAtField, new Date()));
    return { sql: sql.compiler.upsert(sql.tomb, cols, sql.keyCols, [values]), params: params.values };
  }

  /** Overwrites the value columns of an existing row of table `t` (`undefined`: it has none). */
  updateRow(t: number, key: Key, cells: readonly unknown[]): Statement | undefined {
    const { table, qualified, columns, keyColumns } = this.table(t);
    const valueIndexes = table.fields.flatMap((f, i) => (f.isKey ? [] : [i]));
    if (valueIndexes.length === 0) return undefined;
    const params = this.#sql.params();
    const sets = valueIndexes
      .map((i) => `${columns[i] ?? ''} = ${params.encoded(table.fields[i] as MappedField, cells[i])}`)
      .join(', ');
    return {
      sql: `UPDATE ${qualified} SET ${sets} WHERE ${keyEquals(keyColumns, table.keyColumns, key, params)}`,
      params: params.values,
    };
  }

  /** Rows of table `t` (their encoded cells): an upsert where the engine's targets the key only, else a plain insert. */
  writeRows(t: number, rows: readonly (readonly unknown[])[]): Statement {
    const c = this.#sql.compiler;
    const { table, qualified, columns, keyColumns } = this.table(t);
    const params = this.#sql.params();
    const placed = rows.map((cells) => table.fields.map((f, i) => params.encoded(f, cells[i])));
    const sql = c.upsertTargetsKeyOnly
      ? c.upsert(qualified, columns, keyColumns, placed)
      : `INSERT INTO ${qualified} (${columns.join(', ')}) VALUES ${valuesList(placed)}`;
    return { sql, params: params.values };
  }

  /** The tombstone table, its key and version columns typed as the primary table's (`typeOf`). */
  createTombstoneTable(typeOf: (f: MappedField) => string): string {
    const sql = this.#sql;
    const q = (s: string): string => sql.compiler.quoteId(s);
    const defs = sql.primary.keyColumns.map((f) => `${q(f.column)} ${typeOf(f)} NOT NULL`);
    if (sql.versionMapped) defs.push(`${q(TOMBSTONE_VERSION_COLUMN)} ${typeOf(sql.versionMapped)} NULL`);
    defs.push(`${q(TOMBSTONE_DELETED_AT_COLUMN)} ${sql.compiler.deletedAtColumn()}`);
    defs.push(`PRIMARY KEY (${sql.keyCols.join(', ')})`);
    return `CREATE TABLE IF NOT EXISTS ${sql.tomb} (${defs.join(', ')})`;
  }
}
