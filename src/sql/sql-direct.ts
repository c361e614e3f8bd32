import { throwIfAborted } from '../core/errors.js';
import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { CallOptions, Fence } from '../core/store.js';
import { fencesOf, validateFences } from '../core/fence-rules.js';
import type { MappedField } from '../mapping/mapping.js';
import { keyEquals, readExpr, type Params, type Statement } from './sql-statements.js';
import type { Prepared } from './sql-row-codec.js';
import { marking } from './sql-errors.js';
import type { StoreParts } from './sql-store-parts.js';

/**
 * Direct writes: one statement each, outside any transaction, without the
 * key's lock and leaving tombstones alone — what the application's own data
 * layer would run — for a store no midair writer syncs into while the write
 * may land (the authority in `old-only`). The fence, where one is given, is
 * checked inside the same statement: it reads the fence row with a share
 * lock, so a raise waits for the statement to commit, and a statement that
 * runs after a raise finds the new epoch and writes nothing
 * (docs/decisions/0016).
 *
 * Each method resolves whether the statement decided the call; `false`
 * means it wrote nothing and could not tell why (the fence refused it, the
 * fence row is missing, or the row was absent or present where the
 * statement needed the opposite), and the caller takes the full path, which
 * answers every one of those cases itself.
 */
export class SqlDirectWrites<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;

  constructor(parts: StoreParts<K, E>) {
    this.#p = parts;
  }

  /** Only one-table mappings write in one statement. */
  get supported(): boolean {
    return this.#p.mapping.tables.length === 1;
  }

  async put(prepared: Prepared<K>, options: CallOptions | undefined): Promise<boolean> {
    if (!this.supported || prepared.tuple) return false;
    const fence = this.#fence(options, 'put');
    const c = this.#p.dialect.compiler;
    if (c.upsertTargetsKeyOnly)
      return (await this.#run('put', prepared.id, this.#upsert(prepared, fence), options)) > 0;
    // MySQL: ON DUPLICATE KEY UPDATE would also take a clash on another unique key for the row to update, so an
    // existing row is updated and an absent one inserted; a duplicate (a racing insert, or another unique key) goes
    // to the full path, which tells the two apart.
    if ((await this.#run('put', prepared.id, this.#update(prepared, fence), options)) > 0) return true;
    try {
      return (await this.#run('put', prepared.id, this.#insert(prepared, fence), options)) > 0;
    } catch (error) {
      if (error instanceof MidairError && error.code === 'UNIQUE_VIOLATION') return false;
      throw error;
    }
  }

  /** A delete that leaves no tombstone; `false` also where the row was absent (the full path says so for certain). */
  async delete(key: K, options: CallOptions | undefined): Promise<boolean> {
    if (!this.supported) return false;
    const fence = this.#fence(options, 'delete');
    const { writeSql, sql } = this.#p;
    const { qualified, keyColumns, table } = writeSql.table(0);
    const params = sql.params();
    const where = keyEquals(keyColumns, table.keyColumns, key, params);
    const statement = {
      sql: `DELETE FROM ${qualified} WHERE ${where}${this.#guard(params, fence)}`,
      params: params.values,
    };
    return (await this.#run('delete', keyId(key), statement, options)) > 0;
  }

  /**
   * Sets only the mapped fields of `fields` on an existing key: `UPDATE … SET
   * <those columns> … RETURNING <the entity>` where the engine returns rows,
   * else the update and a read of the row in one transaction (MySQL). Resolves
   * the entity after, or `undefined` where the statement decided nothing.
   */
  async patch(key: K, fields: Partial<E>, options: CallOptions | undefined): Promise<E | undefined> {
    if (!this.supported) return undefined;
    const fence = this.#fence(options, 'patch');
    const { writeSql, sql, codec, dialect, mapping, runner } = this.#p;
    const { qualified, keyColumns, table } = writeSql.table(0);
    const given = fields as Record<string, unknown>;
    const changed = table.fields.filter((f) => !f.isKey && Object.prototype.hasOwnProperty.call(given, f.field));
    if (changed.length === 0) return undefined;
    const params = sql.params();
    const q = (c: string): string => dialect.compiler.quoteId(c);
    const sets = changed.map((f) => `${q(f.column)} = ${params.field(f, given[f.field])}`);
    const where = keyEquals(keyColumns, table.keyColumns, key, params);
    const update = `UPDATE ${qualified} SET ${sets.join(', ')} WHERE ${where}${this.#guard(params, fence)}`;
    if (dialect.compiler.updateReturning) {
      const returning = mapping.selectFields.map((f) => readExpr(dialect.compiler, f, q(f.column))).join(', ');
      const statement = { sql: `${update} RETURNING ${returning}`, params: params.values };
      const { rows } = await this.#statement('patch', keyId(key), statement, options);
      return rows[0] === undefined ? undefined : codec.decode(rows[0]);
    }
    const mark = { table: table.table, key: keyId(key) };
    return runner.transaction(
      'patch',
      async (conn) => {
        if ((await marking(mark, () => conn.query(update, params.values))).affected === 0) return undefined;
        const read = sql.byKey(key);
        const [row] = (await conn.query(read.sql, read.params)).rows;
        return row === undefined ? undefined : codec.decode(row);
      },
      { signal: options?.signal },
    );
  }

  #fence(options: CallOptions | undefined, operation: string): readonly Fence[] | undefined {
    validateFences(options, `${operation} on ${this.#p.name}`);
    const fences = fencesOf(options);
    return fences.length > 0 ? fences : undefined;
  }

  /** `<every fence holds>`, each as its own EXISTS. */
  #holds(params: Params, fences: readonly Fence[]): string {
    return fences.map((f) => this.#p.fences.guard(params, f)).join(' AND ');
  }

  /** ` AND <the fences hold>`, or nothing without a fence. */
  #guard(params: Params, fences: readonly Fence[] | undefined): string {
    return fences ? ` AND ${this.#holds(params, fences)}` : '';
  }

  /** One statement on its own, a failure marked with the table and the key it wrote (as the locked path marks them). */
  async #statement(operation: string, key: string, statement: Statement, options: CallOptions | undefined) {
    throwIfAborted(options?.signal, operation);
    const { runner, writeSql } = this.#p;
    const mark = { table: writeSql.table(0).table.table, key };
    return runner.attempt(operation, () => marking(mark, () => runner.driver.query(statement.sql, statement.params)));
  }

  async #run(operation: string, key: string, statement: Statement, options: CallOptions | undefined): Promise<number> {
    return (await this.#statement(operation, key, statement, options)).affected;
  }

  /** `INSERT … SELECT <cells> WHERE <fence> ON CONFLICT (key) DO UPDATE …` (PostgreSQL, SQLite). */
  #upsert(prepared: Prepared<K>, fence: readonly Fence[] | undefined): Statement {
    const { writeSql, sql, dialect } = this.#p;
    if (!fence) return writeSql.writeRows(0, [prepared.cells[0] ?? []]);
    const { qualified, columns, keyColumns, table } = writeSql.table(0);
    const params = sql.params();
    const cells = this.#cells(params, table.fields, prepared);
    const source = `SELECT ${cells.join(', ')} WHERE ${this.#holds(params, fence)}`;
    return { sql: dialect.compiler.upsertFrom(qualified, columns, keyColumns, source), params: params.values };
  }

  /** `UPDATE … SET <values> WHERE <key> AND <fence>` (`affected` counts rows found, as the drivers report them). */
  #update(prepared: Prepared<K>, fence: readonly Fence[] | undefined): Statement {
    const { writeSql, sql } = this.#p;
    const { qualified, columns, keyColumns, table } = writeSql.table(0);
    const params = sql.params();
    const row = prepared.cells[0] ?? [];
    const sets = table.fields.flatMap((f, i) =>
      f.isKey ? [] : [`${columns[i] ?? ''} = ${params.encoded(f, row[i])}`],
    );
    // A table of key columns only: setting a key column to itself finds the row all the same.
    if (sets.length === 0) sets.push(`${keyColumns[0] ?? ''} = ${keyColumns[0] ?? ''}`);
    const where = keyEquals(keyColumns, table.keyColumns, prepared.key, params);
    return {
      sql: `UPDATE ${qualified} SET ${sets.join(', ')} WHERE ${where}${this.#guard(params, fence)}`,
      params: params.values,
    };
  }

  /** `INSERT … SELECT <cells> FROM DUAL WHERE <fence>`, or a plain insert without a fence (MySQL). */
  #insert(prepared: Prepared<K>, fence: readonly Fence[] | undefined): Statement {
    const { writeSql, sql } = this.#p;
    const { qualified, columns, table } = writeSql.table(0);
    const params = sql.params();
    const cells = this.#cells(params, table.fields, prepared);
    const source = fence
      ? `SELECT ${cells.join(', ')} FROM DUAL WHERE ${this.#holds(params, fence)}`
      : `VALUES (${cells.join(', ')})`;
    return { sql: `INSERT INTO ${qualified} (${columns.join(', ')}) ${source}`, params: params.values };
  }

  #cells(params: Params, fields: readonly MappedField[], prepared: Prepared<K>): string[] {
    const row = prepared.cells[0] ?? [];
    return fields.map((f, i) => params.encoded(f, row[i]));
  }
}
