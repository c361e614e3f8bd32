/**
 * midair/mysql — a store over a `mysql2/promise` pool you already have (MySQL or MariaDB).
 *
 * @example
 * ```ts
 * import mysql from 'mysql2/promise';
 * import { mysqlStore } from 'midair/mysql';
 *
 * const pool = mysql.createPool(process.env.MYSQL_URL!);
 * const users = mysqlStore(pool, usersMapping);
 * ```
 */
import type { Key } from '../core/keys.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { Store } from '../core/store.js';
import { SqlStore, type SqlStoreOptions } from '../sql/sql-store.js';
import { MysqlDialect } from './mysql-dialect.js';
import { mysqlDriver, type MysqlDriverOptions, type MysqlPool } from './mysql-driver.js';

export { MysqlDialect } from './mysql-dialect.js';
export { mysqlDriver } from './mysql-driver.js';
export type {
  MysqlConnection,
  MysqlDriverOptions,
  MysqlPool,
  MysqlPoolConnection,
  MysqlQueryOptions,
  MysqlTypeCastField,
} from './mysql-driver.js';
export { mysqlControlStore } from './mysql-control.js';
export { openMysqlPool } from './open.js';

/** A {@link Store} over MySQL or MariaDB (InnoDB). The pool stays the caller's unless `ownsPool` is set. */
export function mysqlStore<K extends Key, E extends object>(
  pool: MysqlPool,
  mapping: SqlMapping<E>,
  options: SqlStoreOptions & MysqlDriverOptions = {},
): Store<K, E> {
  return new SqlStore<K, E>(new MysqlDialect(), mysqlDriver(pool, options), mapping, options);
}
