/**
 * midair/postgres — a store over a `pg` pool you already have.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { col, sqlMapping } from 'midair';
 * import { postgresStore } from 'midair/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const users = postgresStore(pool, sqlMapping<User>({ key: 'id', tables: [{ table: 'users', columns: { id: col.bigint('id'), email: col.text('email') } }] }));
 * ```
 */
import type { Key } from '../core/keys.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { Store } from '../core/store.js';
import { SqlStore, type SqlStoreOptions } from '../sql/sql-store.js';
import { PostgresDialect } from './postgres-dialect.js';
import { postgresDriver, type PostgresDriverOptions, type PostgresPool } from './postgres-driver.js';

export { PostgresDialect } from './postgres-dialect.js';
export { postgresDriver } from './postgres-driver.js';
export type {
  PostgresClient,
  PostgresDriverOptions,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryConfig,
  PostgresQueryResult,
} from './postgres-driver.js';
export { postgresControlStore } from './postgres-control.js';
export { openPostgresPool } from './open.js';

/** A {@link Store} over PostgreSQL. The pool stays the caller's unless `ownsPool` is set. */
export function postgresStore<K extends Key, E extends object>(
  pool: PostgresPool,
  mapping: SqlMapping<E>,
  options: SqlStoreOptions & PostgresDriverOptions = {},
): Store<K, E> {
  return new SqlStore<K, E>(new PostgresDialect(), postgresDriver(pool, options), mapping, options);
}
