import type { ControlStore } from '../control/control-store.js';
import { sqlControlStore, type SqlControlStoreOptions } from '../control/sql-control-store.js';
import { PostgresDialect } from './postgres-dialect.js';
import { postgresDriver, type PostgresDriverOptions, type PostgresPool } from './postgres-driver.js';

/**
 * A {@link ControlStore} in PostgreSQL: the phase toggle, its audit log,
 * heartbeats, the repair queue and checkpoints, in tables named
 * `<tablePrefix><name>` on the pool's `search_path`. The pool stays the
 * caller's unless `ownsPool` is set.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { postgresControlStore } from 'midair/postgres';
 *
 * const control = postgresControlStore(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function postgresControlStore(pool: PostgresPool, options: SqlControlStoreOptions & PostgresDriverOptions = {}): ControlStore {
  return sqlControlStore(new PostgresDialect(), postgresDriver(pool, options), options);
}
