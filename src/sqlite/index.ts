/**
 * midair/sqlite — a store over a `better-sqlite3` database you already have.
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { sqliteStore } from 'midair/sqlite';
 *
 * const users = sqliteStore(new Database('app.db'), usersMapping);
 * ```
 */
import type { Key } from '../core/keys.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { Store } from '../core/store.js';
import { SqlStore, type SqlStoreOptions } from '../sql/sql-store.js';
import { SqliteDialect } from './sqlite-dialect.js';
import { sqliteDriver, type SqliteDatabase, type SqliteDriverOptions } from './sqlite-driver.js';

export { SqliteDialect } from './sqlite-dialect.js';
export { sqliteDriver } from './sqlite-driver.js';
export type { SqliteDatabase, SqliteDriverOptions, SqliteStatement } from './sqlite-driver.js';
export { openSqlite } from './open.js';
export { sqliteControlStore } from './sqlite-control.js';

/** A {@link Store} over SQLite. The database handle stays the caller's unless `ownsDatabase` is set. */
export function sqliteStore<K extends Key, E extends object>(
  db: SqliteDatabase,
  mapping: SqlMapping<E>,
  options: SqlStoreOptions & SqliteDriverOptions = {},
): Store<K, E> {
  return new SqlStore<K, E>(new SqliteDialect(), sqliteDriver(db, options), mapping, options);
}
