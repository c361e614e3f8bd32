import { MidairError } from '../core/errors.js';
import { cellText, type TableInfo } from '../sql/sql-catalog.js';
import { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import type { ClassifiedError } from '../sql/sql-errors.js';
import { lockId64 } from '../sql/lock-ids.js';
import { mysqlCompiler } from './mysql-compiler.js';
import { classifyMysqlError } from './mysql-errors.js';
import { mysqlHashSql } from './mysql-hash.js';
import { introspectMysql } from './mysql-introspect.js';
import { mysqlReferencedBy } from '../sql/sql-foreign-keys.js';
import type { ForeignKeyRef } from '../core/check-report.js';

const LOCK_WAIT_SECONDS = 30;

/** MySQL and MariaDB, as the generic SQL layer sees them: their compiler, catalog, error numbers, hash SQL, named locks and bulk upsert. */
export class MysqlDialect extends SqlDialect {
  readonly compiler = mysqlCompiler;
  override readonly hashSql = mysqlHashSql;
  override readonly writeTransaction = Object.freeze({
    isolation: 'read committed' as const,
    cleanup: 'DO RELEASE_ALL_LOCKS()',
  });

  /** `ON DUPLICATE KEY UPDATE`: MySQL's upsert (the probe table has no other unique key). */
  override commitProbeSql(table: string): string {
    return `INSERT INTO ${table} (\`slot\`, \`n\`) VALUES (?, 1) ON DUPLICATE KEY UPDATE \`n\` = 1 - \`n\``;
  }

  /** Per table: whether it has a unique key besides the primary key (then ON DUPLICATE KEY UPDATE is unsafe). */
  readonly #otherUniqueKeys = new Map<string, Promise<boolean>>();

  /**
   * Named locks (`GET_LOCK`) on each key's 64-bit hash, taken in sorted order
   * and released after the transaction ends (they are session locks). Under
   * READ COMMITTED, InnoDB then takes no gap locks, which deadlock writers of
   * neighbouring absent keys.
   */
  async lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const names = [...new Set(keyIds.map((id) => `midair:${lockId64(namespace, id)}`))].sort();
    for (let i = 0; i < names.length; i += 500) {
      const batch = names.slice(i, i + 500);
      const { rows } = await conn.query(
        `SELECT ${batch.map(() => `GET_LOCK(?, ${LOCK_WAIT_SECONDS})`).join(', ')}`,
        batch,
      );
      if (!(rows[0] ?? []).every((v) => cellText(v) === '1')) {
        throw new MidairError(
          'TIMEOUT',
          `waited more than ${LOCK_WAIT_SECONDS} s for a key lock held by another writer`,
        );
      }
    }
  }

  /**
   * One multi-row `INSERT … ON DUPLICATE KEY UPDATE` per batch — only for a
   * table whose sole unique key is its primary key: with another unique key, a
   * clash there would silently update that other row (decision 0001), and the
   * caller falls back to inserting and updating separately.
   */
  override async bulkUpsert(
    conn: SqlConnection,
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly unknown[])[],
  ): Promise<boolean> {
    let known = this.#otherUniqueKeys.get(table);
    if (!known) {
      const bare = table.split('.').map((p) => p.replace(/^`|`$/g, '').replace(/``/g, '`'));
      const [schema, name] = bare.length === 2 ? bare : [undefined, bare[0]];
      known = conn
        .query(
          `SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'`,
          [schema ?? null, name],
        )
        .then((r) => Number(cellText(r.rows[0]?.[0]) ?? '0') > 0);
      known.catch(() => this.#otherUniqueKeys.delete(table)); // ask again next time
      this.#otherUniqueKeys.set(table, known);
    }
    if (await known) return false;
    const perRow = Math.max(1, Math.floor(this.compiler.maxParams / Math.max(1, columns.length)));
    for (let i = 0; i < rows.length; i += perRow) {
      const batch = rows.slice(i, i + perRow);
      await conn.query(
        this.compiler.upsert(
          table,
          columns,
          keyColumns,
          batch.map((r) => r.map(() => '?')),
        ),
        batch.flat(),
      );
    }
    return true;
  }

  referencedBy(conn: SqlConnection, table: string, schema: string | undefined): Promise<ForeignKeyRef[]> {
    return mysqlReferencedBy(conn, table, schema);
  }

  introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    return introspectMysql(conn, table, schema);
  }

  classifyError(err: unknown): ClassifiedError {
    return classifyMysqlError(err);
  }
}
