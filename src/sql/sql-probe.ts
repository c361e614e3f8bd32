import type { CallOptions, CommitProbe } from '../core/store.js';
import type { SqlDialect } from './sql-dialect.js';
import type { SqlRunner } from './sql-transaction.js';

/** The probe table's name beside a store's tables: `<primary table>_midair_probe`, in the tombstone table's schema. */
export const PROBE_TABLE_SUFFIX = '_midair_probe';

/** Rows of the probe table: each store object flips one, picked at random, so probes of many processes seldom queue on one row. */
const PROBE_SLOTS = 64;

/**
 * The commit probe of a SQL store (see {@link CommitProbe}): one statement,
 * committing by itself, that flips a counter in one row of midair's probe
 * table — a table of midair's alone, so the row lock it takes is nobody
 * else's and no user row, fence or tombstone is ever touched. Its commit
 * writes the log and, with the database's durable settings, waits for the
 * flush the application's commits wait for (a transaction that only took an
 * id, such as PostgreSQL's `SELECT pg_current_xact_id()`, commits without
 * waiting for one). The statement is the dialect's
 * ({@link SqlDialect.commitProbeSql}).
 */
export class SqlCommitProbe implements CommitProbe {
  readonly #runner: SqlRunner;
  readonly #sql: string;
  readonly #slot = Math.floor(Math.random() * PROBE_SLOTS);
  readonly #open: (operation: string, options?: CallOptions) => void;

  /** `table`: the qualified probe table. */
  constructor(
    dialect: SqlDialect,
    runner: SqlRunner,
    readonly table: string,
    open: (operation: string, options?: CallOptions) => void,
  ) {
    this.#runner = runner;
    this.#sql = dialect.commitProbeSql(table);
    this.#open = open;
    this.createTable = `CREATE TABLE IF NOT EXISTS ${table} (${dialect.quoteId('slot')} INT NOT NULL, ${dialect.quoteId('n')} INT NOT NULL DEFAULT 0, PRIMARY KEY (${dialect.quoteId('slot')}))`;
  }

  /** The statement `setup()` runs (idempotent). */
  readonly createTable: string;

  async commit(options?: CallOptions): Promise<void> {
    this.#open('commitProbe', options);
    await this.#runner.query('commitProbe', this.#sql, [this.#slot]);
  }
}
