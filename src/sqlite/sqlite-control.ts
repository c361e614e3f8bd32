import type { ControlStore } from '../control/control-store.js';
import { sqlControlStore, type SqlControlStoreOptions } from '../control/sql-control-store.js';
import { SqliteDialect } from './sqlite-dialect.js';
import { sqliteDriver, type SqliteDatabase, type SqliteDriverOptions } from './sqlite-driver.js';

/**
 * A {@link ControlStore} in SQLite — the embedded default. Processes that
 * share the database file share the control state. The database handle
 * stays the caller's unless `ownsDatabase` is set.
 *
 * @example
 * ```ts
 * import { openSqlite, sqliteControlStore } from 'midair/sqlite';
 *
 * const control = sqliteControlStore(await openSqlite('midair-control.db'), { ownsDatabase: true });
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function sqliteControlStore(
  db: SqliteDatabase,
  options: SqlControlStoreOptions & SqliteDriverOptions = {},
): ControlStore {
  return sqlControlStore(new SqliteDialect(), sqliteDriver(db, options), options);
}
