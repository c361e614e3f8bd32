import type { TableInfo } from '../sql/sql-catalog.js';
import { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import type { ClassifiedError } from '../sql/sql-errors.js';
import { sqliteCompiler } from './sqlite-compiler.js';
import { classifySqliteError } from './sqlite-errors.js';
import { introspectSqlite } from './sqlite-introspect.js';
import { sqliteReferencedBy } from '../sql/sql-foreign-keys.js';
import type { ForeignKeyRef } from '../core/check-report.js';

/**
 * SQLite, as the generic SQL layer sees it: its compiler, pragmas and result
 * codes. No hash SQL: its driver hashes rows through an aggregate that calls
 * back into JS (src/sqlite/sqlite-driver.ts).
 */
export class SqliteDialect extends SqlDialect {
  readonly compiler = sqliteCompiler;

  /** Nothing to take: `BEGIN IMMEDIATE` already holds the database's write lock. */
  async lockKeys(): Promise<void> {
    return Promise.resolve();
  }

  referencedBy(conn: SqlConnection, table: string): Promise<ForeignKeyRef[]> {
    return sqliteReferencedBy(conn, table);
  }

  introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    return introspectSqlite(conn, table, schema);
  }

  classifyError(err: unknown): ClassifiedError {
    return classifySqliteError(err);
  }
}
