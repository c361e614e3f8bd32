import type { ControlStore } from '../control/control-store.js';
import { sqlControlStore, type SqlControlStoreOptions } from '../control/sql-control-store.js';
import { postgresCompiler } from './postgres-compiler.js';
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
export function postgresControlStore(
  pool: PostgresPool,
  options: SqlControlStoreOptions & PostgresDriverOptions = {},
): ControlStore {
  const channel = `${options.tablePrefix ?? 'midair_'}phase_changed`;
  const store = sqlControlStore(new PostgresDialect(), postgresDriver(pool, options), {
    ...options,
    onChange: async (conn, migration) => {
      await conn.query('SELECT pg_notify($1, $2)', [channel, migration]);
    },
  });
  return {
    ...store,
    // Holds one pooled connection for LISTEN while subscribed.
    async subscribe(migration, onChange) {
      const client = await pool.connect();
      if (!client.on) {
        client.release();
        return async () => Promise.resolve();
      }
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload === migration) onChange();
      });
      client.on('error', () => undefined); // a dropped listener only loses the push; polling goes on
      await client.query({ text: `LISTEN ${postgresCompiler.quoteId(channel)}` });
      return async () => {
        try {
          await client.query({ text: `UNLISTEN ${postgresCompiler.quoteId(channel)}` });
          client.release();
        } catch {
          client.release(true);
        }
      };
    },
  };
}
