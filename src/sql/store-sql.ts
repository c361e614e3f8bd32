import type { Key } from '../core/keys.js';
import type { KeyRange } from '../core/store.js';
import type { MappedField, MappedTable, SqlMapping } from '../mapping/mapping.js';
import type { SqlCompiler } from './sql-compiler.js';
import { deletedAtField, TOMBSTONE_DELETED_AT_COLUMN, TOMBSTONE_VERSION_COLUMN } from './sql-row-codec.js';
import { keyEquals, keyIn, Params, readExpr, type Statement } from './sql-statements.js';

/**
 * The read statements of one store, compiled from its mapping and its
 * engine's compiler: pure text and parameters, no I/O. The primary table is
 * `t0`, each further table `t1`, `t2` … joined on the key.
 */
export class StoreSql {
  readonly compiler: SqlCompiler;
  readonly primary: MappedTable;
  readonly tables: readonly string[];
  readonly tomb: string;
  /** The primary table's key columns, bare and as `t0.` columns. */
  readonly keyCols: readonly string[];
  readonly keyCols0: readonly string[];
  /** t0's key columns as read (`SELECT` list). */
  readonly keyReads0: string;
  readonly from: string;
  readonly select: string;
  readonly versionMapped: MappedField | undefined;
  /** The version field as the tombstone table holds it. */
  readonly tombVersion: MappedField | undefined;

  constructor(compiler: SqlCompiler, mapping: SqlMapping<object>) {
    const q = (s: string): string => compiler.quoteId(s);
    this.compiler = compiler;
    this.primary = mapping.tables[0];
    this.tables = mapping.tables.map((t) => compiler.qualify(t.table, t.schema));
    this.tomb = compiler.qualify(mapping.tombstone.table, mapping.tombstone.schema);
    this.keyCols = this.primary.keyColumns.map((f) => q(f.column));
    this.keyCols0 = this.keyCols.map((c) => `t0.${c}`);
    this.keyReads0 = this.primary.keyColumns
      .map((f, i) => readExpr(compiler, f, this.keyCols0[i] as string))
      .join(', ');
    this.versionMapped = this.primary.fields.find((f) => f.field === mapping.versionField);
    this.tombVersion = this.versionMapped && { ...this.versionMapped, column: TOMBSTONE_VERSION_COLUMN };
    const exprs = mapping.selectFields.map((f) => readExpr(compiler, f, `t${f.tableIndex}.${q(f.column)}`));
    const joins = mapping.tables.slice(1).map((t, i) => {
      const alias = `t${i + 1}`;
      const on = t.keyColumns.map((f, j) => `${alias}.${q(f.column)} = ${this.keyCols0[j] ?? ''}`).join(' AND ');
      return ` LEFT JOIN ${this.tables[i + 1] ?? ''} ${alias} ON ${on}`;
    });
    this.from = `FROM ${this.tables[0] ?? ''} t0${joins.join('')}`;
    this.select = `SELECT ${exprs.join(', ')} ${this.from}`;
  }

  /** The primary table, qualified. */
  get table0(): string {
    return this.tables[0] ?? '';
  }

  params(): Params {
    return new Params(this.compiler);
  }

  /** Rows per statement so that `columnsPerRow` parameters each stay under the engine's limit. */
  batchRows(columnsPerRow: number): number {
    return Math.max(
      1,
      Math.min(1000, Math.floor(this.compiler.maxParams / Math.max(1, columnsPerRow * this.keyCols.length))),
    );
  }

  /** `key > ?` or `key <= ?` over t0's key columns, in the database's own order. */
  keyBound(params: Params, op: '>' | '<=', key: Key): string {
    const fields = this.primary.keyColumns;
    const parts = fields.length === 1 ? [key] : (key as readonly unknown[]);
    return this.compiler.keyCompare(this.keyCols0, op, (i) => params.field(fields[i] as MappedField, parts[i]));
  }

  /** ` WHERE (after, through]` over t0's key columns (and each range it lies within), or nothing for an open range. */
  rangeWhere(params: Params, range: KeyRange<Key>): string {
    const conditions: string[] = [];
    for (const r of [range, ...(range.within ?? [])]) {
      if (r.after !== undefined) conditions.push(this.keyBound(params, '>', r.after));
      if (r.through !== undefined) conditions.push(this.keyBound(params, '<=', r.through));
    }
    return conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  }

  /** The entity of one key (select list). */
  byKey(key: Key): Statement {
    const params = this.params();
    return {
      sql: `${this.select} WHERE ${keyEquals(this.keyCols0, this.primary.keyColumns, key, params)}`,
      params: params.values,
    };
  }

  /** The entities of several keys. */
  byKeys(keys: readonly Key[]): Statement {
    const params = this.params();
    return {
      sql: `${this.select} WHERE ${keyIn(this.keyCols0, this.primary.keyColumns, keys, params)}`,
      params: params.values,
    };
  }

  /** The keys of those that exist. */
  keysIn(keys: readonly Key[]): Statement {
    const params = this.params();
    return {
      sql: `SELECT ${this.keyReads0} FROM ${this.table0} t0 WHERE ${keyIn(this.keyCols0, this.primary.keyColumns, keys, params)}`,
      params: params.values,
    };
  }

  count(): string {
    return `SELECT COUNT(*) FROM ${this.table0}`;
  }

  /** What a key scan selects. */
  get selectKeys(): string {
    return `SELECT ${this.keyReads0} FROM ${this.table0} t0`;
  }

  /** One page of a keyset walk of `select` in key order. */
  page(select: string, range: KeyRange<Key>, size: number): Statement {
    const params = this.params();
    const where = this.rangeWhere(params, range);
    return { sql: `${select}${where} ORDER BY ${this.keyCols0.join(', ')} LIMIT ${size}`, params: params.values };
  }

  /** The key `offset` rows into the range (1-based). */
  keyAt(range: KeyRange<Key>, offset: number): Statement {
    const params = this.params();
    const where = this.rangeWhere(params, range);
    return {
      sql: `SELECT ${this.keyReads0} FROM ${this.table0} t0${where} ORDER BY ${this.keyCols0.join(', ')} LIMIT 1 OFFSET ${offset - 1}`,
      params: params.values,
    };
  }

  /** The keys at positions `step`, `2 × step`, … of the range (at most `limit`), by row number in one index walk. */
  keysEvery(range: KeyRange<Key>, step: number, limit: number): Statement {
    const params = this.params();
    const where = this.rangeWhere(params, range);
    const order = this.keyCols0.join(', ');
    const keys = this.primary.keyColumns.map(
      (f, i) => `${readExpr(this.compiler, f, this.keyCols0[i] as string)} AS k${i}`,
    );
    const inner = `SELECT ${keys.join(', ')}, ROW_NUMBER() OVER (ORDER BY ${order}) AS rn FROM ${this.table0} t0${where} ORDER BY ${order} LIMIT ${step * limit}`;
    return {
      sql: `SELECT ${keys.map((_k, i) => `s.k${i}`).join(', ')} FROM (${inner}) s WHERE s.rn % ${step} = 0 ORDER BY s.rn`,
      params: params.values,
    };
  }

  /** `count` keys at random, sorted by the database itself, so they are in the order its scans use. */
  sampleKeys(count: number): string {
    const keyExprs = this.primary.keyColumns.map((f) =>
      readExpr(this.compiler, f, `s.${this.compiler.quoteId(f.column)}`),
    );
    return (
      `SELECT ${keyExprs.join(', ')} FROM (SELECT ${this.keyCols.join(', ')} FROM ${this.table0} ORDER BY ${this.compiler.randomOrder} LIMIT ${count}) s ` +
      `ORDER BY ${this.keyCols.map((c) => `s.${c}`).join(', ')}`
    );
  }

  /** The key's tombstone: its version (NULL unversioned) and deletion time. */
  tombstoneOf(key: Key): Statement {
    const params = this.params();
    const where = keyEquals(this.keyCols, this.primary.keyColumns, key, params);
    const vexpr = this.tombVersion
      ? readExpr(this.compiler, this.tombVersion, this.compiler.quoteId(TOMBSTONE_VERSION_COLUMN))
      : 'NULL';
    return { sql: `SELECT ${vexpr}, ${this.#deletedAt()} FROM ${this.tomb} WHERE ${where}`, params: params.values };
  }

  /** The key's tombstone's deletion time only. */
  tombstoneDeletedAt(key: Key): Statement {
    const params = this.params();
    const where = keyEquals(this.keyCols, this.primary.keyColumns, key, params);
    return { sql: `SELECT ${this.#deletedAt()} FROM ${this.tomb} WHERE ${where}`, params: params.values };
  }

  #deletedAt(): string {
    return readExpr(this.compiler, deletedAtField, this.compiler.quoteId(TOMBSTONE_DELETED_AT_COLUMN));
  }
}
