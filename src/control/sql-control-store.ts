import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection, SqlDriver } from '../sql/sql-driver.js';
import type { ControlStore } from './control-store.js';
import { sqlCheckpoints } from './sql-checkpoints.js';
import { sqlControlContext } from './sql-control-context.js';
import { addMissingColumns } from './sql-control-upgrade.js';
import { sqlDeadLetters } from './sql-dead-letters.js';
import { sqlFleet } from './sql-fleet.js';
import { sqlPhaseLog } from './sql-phase-log.js';
import { sqlRangeLeases } from './sql-range-leases.js';
import { sqlRepairQueue } from './sql-repair-queue.js';
import { sqlMigrations } from './sql-migrations.js';

export interface SqlControlStoreOptions {
  /** A name for messages; default `<dialect>:control`. */
  readonly name?: string;
  /** Prepended to each control table's name; default `midair_` (`midair_phase`, `midair_audit` …). */
  readonly tablePrefix?: string;
  /** Runs inside the transaction of every phase change (PostgreSQL: NOTIFY, delivered on commit). */
  readonly onChange?: (conn: SqlConnection, migration: string) => Promise<void>;
  /**
   * The clock, in epoch milliseconds, for every time the store computes:
   * state and audit times, heartbeats' lastSeen, leases, due times and the
   * comparisons against them. Default `Date.now`. The database's own clock is
   * never used, so all backends agree and tests can move time by hand.
   */
  readonly now?: () => number;
  /** Where the control store's URL came from (a config field): connection failures' messages start with it. */
  readonly source?: string;
}

/**
 * The control store over SQL — one implementation for PostgreSQL,
 * MySQL/MariaDB and SQLite, with the same semantics as
 * `memoryControlStore()`. Times are integer epoch milliseconds from the
 * process clock (`now`), so every backend stores them alike. Each change of
 * phase and its audit entry are written in one transaction; a
 * compare-and-set whose expected version is stale writes nothing.
 *
 * Use the factories `postgresControlStore`, `mysqlControlStore` and
 * `sqliteControlStore`; call `setup()` once to create the tables (it also
 * upgrades tables an older midair created).
 *
 * @example
 * ```ts
 * const control = sqlControlStore(new PostgresDialect(), postgresDriver(pool));
 * await control.setup();
 * const state = await control.init('users-to-pg', 'ops@host');
 * ```
 */
export function sqlControlStore(
  dialect: SqlDialect,
  driver: SqlDriver,
  options: SqlControlStoreOptions = {},
): ControlStore {
  const x = sqlControlContext(dialect, driver, options);
  return {
    name: x.name,

    async setup() {
      for (const sql of x.schema.ddl) await x.query('setup', sql, []);
      await addMissingColumns(x);
    },

    ...sqlPhaseLog(x, options.onChange),
    ...sqlFleet(x),
    ...sqlRepairQueue(x),
    ...sqlDeadLetters(x),
    ...sqlRangeLeases(x),
    ...sqlCheckpoints(x),
    ...sqlMigrations(x),

    async close() {
      try {
        await driver.close();
      } catch (err) {
        throw x.wrap('close', err);
      }
    },
  };
}
