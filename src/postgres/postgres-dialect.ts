import { SqlDialect } from '../sql/sql-dialect.js';
import type { ClassifiedError } from '../sql/sql-errors.js';
import type { TableInfo } from '../sql/sql-catalog.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import { lockId64 } from '../sql/lock-ids.js';
import { postgresCompiler } from './postgres-compiler.js';
import { binaryCopyUpsert, copyUpsert } from './postgres-copy.js';
import { classifyPostgresError } from './postgres-errors.js';
import { postgresHashSql } from './postgres-hash.js';
import { introspectPostgres } from './postgres-introspect.js';
import { postgresSameEngineCopy } from './postgres-same-engine.js';
import { postgresReferencedBy } from '../sql/sql-foreign-keys.js';
import type { ForeignKeyRef } from '../core/check-report.js';

/** PostgreSQL, as the generic SQL layer sees it: its compiler, catalog, error codes, hash SQL and COPY. */
export class PostgresDialect extends SqlDialect {
  readonly compiler = postgresCompiler;
  override readonly hashSql = postgresHashSql;
  override readonly sameEngineCopy = postgresSameEngineCopy;

  /**
   * Transaction-scoped advisory locks on each key's 64-bit hash, taken in
   * sorted order. A row lock cannot hold a key that does not exist yet; an
   * advisory lock can.
   */
  async lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const ids = [...new Set(keyIds.map((id) => lockId64(namespace, id)))].sort();
    await conn.query('SELECT count(pg_advisory_xact_lock(x)) FROM unnest($1::int8[]) AS u(x)', [ids]);
  }

  /** COPY into a staging table, then one merge (see postgres-copy.ts). */
  override bulkUpsertBinary(
    conn: SqlConnection,
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    tuples: readonly Buffer[],
    fresh: boolean,
  ): Promise<boolean> {
    return binaryCopyUpsert(conn, table, columns, keyColumns, tuples, fresh);
  }

  override bulkUpsert(
    conn: SqlConnection,
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly unknown[])[],
    fresh?: boolean,
  ): Promise<boolean> {
    return copyUpsert(conn, table, columns, keyColumns, rows, fresh);
  }

  referencedBy(conn: SqlConnection, table: string, schema: string | undefined): Promise<ForeignKeyRef[]> {
    return postgresReferencedBy(conn, this.compiler.qualify(table, schema), table, schema);
  }

  introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    return introspectPostgres(conn, table, schema);
  }

  classifyError(err: unknown): ClassifiedError {
    return classifyPostgresError(err);
  }
}
