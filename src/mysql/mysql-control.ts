import type { ControlStore } from '../control/control-store.js';
import { sqlControlStore, type SqlControlStoreOptions } from '../control/sql-control-store.js';
import { MysqlDialect } from './mysql-dialect.js';
import { mysqlDriver, type MysqlDriverOptions, type MysqlPool } from './mysql-driver.js';

/**
 * A {@link ControlStore} in MySQL or MariaDB (InnoDB, utf8mb4 with binary
 * collation whatever the database's default). Key columns are VARCHAR: a
 * migration name holds up to 64 characters, an instance id or checkpoint
 * name 191, a repair key id 700. The pool stays the caller's unless
 * `ownsPool` is set.
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import { mysqlControlStore } from 'midair/mysql';
 *
 * const control = mysqlControlStore(mysql.createPool(process.env.MYSQL_URL!));
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function mysqlControlStore(
  pool: MysqlPool,
  options: SqlControlStoreOptions & MysqlDriverOptions = {},
): ControlStore {
  return sqlControlStore(new MysqlDialect(), mysqlDriver(pool, options), options);
}
