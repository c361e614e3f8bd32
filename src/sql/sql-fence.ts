import type { Fence } from '../core/store.js';
import { fencedError, LEASE_FENCE_MARK, MAX_MIGRATION_NAME } from '../core/fence-rules.js';
import type { SqlCompiler } from './sql-compiler.js';
import type { SqlConnection } from './sql-driver.js';
import type { Params } from './sql-statements.js';

/** The fence table's name beside a store's tables: `<primary table>_midair_fences`, in the tombstone table's schema. */
export const FENCE_TABLE_SUFFIX = '_midair_fences';

/**
 * A store's fences in SQL: one row per migration, `(migration, epoch)`.
 *
 * A fenced write reads its migration's row first in its own transaction,
 * holding it with a share lock (SQLite's write transactions are exclusive
 * already), and is refused when the fence is above its epoch. Where rows are
 * locked one by one, a write that finds no row inserts it at epoch 0 and
 * holds that, so even the first raise has a row to wait on. Raising takes
 * the row's exclusive lock (on PostgreSQL after the table's, which queues in
 * order), which waits for every write in flight holding the share lock: when
 * the raise commits, no write that passed the old fence is still uncommitted.
 */
export class SqlFences {
  readonly #dialect: SqlCompiler;
  readonly #table: string;
  readonly #store: string;
  readonly #migration: string;
  readonly #epoch: string;

  /** `table`: the qualified fence table. */
  constructor(dialect: SqlCompiler, table: string, store: string) {
    this.#dialect = dialect;
    this.#table = table;
    this.#store = store;
    this.#migration = dialect.quoteId('migration');
    this.#epoch = dialect.quoteId('epoch');
  }

  /** The statement `setup()` runs (idempotent). */
  createTable(): string {
    return `CREATE TABLE IF NOT EXISTS ${this.#table} (${this.#migration} VARCHAR(${MAX_MIGRATION_NAME}) NOT NULL, ${this.#epoch} BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (${this.#migration}))`;
  }

  /** The fence of `migration` (`undefined` without a row), read plainly or with `lock`. */
  async read(conn: SqlConnection, migration: string, lock: '' | 'share' | 'update' = ''): Promise<number | undefined> {
    const suffix = lock === 'share' ? this.#dialect.forShare : lock === 'update' ? this.#dialect.forUpdate : '';
    const sql = `SELECT ${this.#epoch} FROM ${this.#table} WHERE ${this.#migration} = ${this.#dialect.placeholder(1)}${suffix}`;
    const { rows } = await conn.query(sql, [migration]);
    const cell = rows[0]?.[0];
    return cell === undefined || cell === null ? undefined : Number(cell);
  }

  /**
   * `EXISTS (SELECT 1 FROM <fences> WHERE migration = ? AND epoch <= ? FOR SHARE)`:
   * the fence inside a direct write's own statement. The share lock makes a
   * raise wait for the statement's commit, as {@link check} does for a
   * transaction; without the migration's row it is false (the caller takes
   * the full path, which treats a missing row as epoch 0).
   */
  guard(params: Params, fence: Fence): string {
    const m = params.add(fence.migration);
    const e = params.add(fence.epoch);
    return `EXISTS (SELECT 1 FROM ${this.#table} WHERE ${this.#migration} = ${m} AND ${this.#epoch} <= ${e}${this.#dialect.forShare})`;
  }

  /** Inserts the migration's row at epoch 0 unless it exists (a concurrent insert is waited for). */
  async #ensureRow(conn: SqlConnection, migration: string): Promise<void> {
    const d = this.#dialect;
    await conn.query(d.upsert(this.#table, [this.#migration], [this.#migration], [[d.placeholder(1)]]), [migration]);
  }

  /**
   * The first statement of a fenced write's transaction: refuses it with
   * FENCED (the caller rolls back, so nothing is written) when a fence it
   * carries (its phase's, its lease's) is below the store's, and otherwise
   * holds them for the rest of the transaction — both rows in one statement.
   */
  async check(conn: SqlConnection, fences: readonly Fence[], operation: string): Promise<void> {
    // No row: fence 0, and nothing to lock — a migration creates its row at start (raiseFence to 0), so fenced writes
    // find it. Inserting it here held an exclusive lock for the whole write, and first writes of a fresh store waited
    // on each other, across a shared pool for good (regression: a CI run hung on it).
    const d = this.#dialect;
    const names = fences.map((f, i) => d.placeholder(i + 1)).join(', ');
    const sql = `SELECT ${this.#migration}, ${this.#epoch} FROM ${this.#table} WHERE ${this.#migration} IN (${names})${d.forShare}`;
    const { rows } = await conn.query(
      sql,
      fences.map((f) => f.migration),
    );
    const held = new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
    for (const fence of fences) {
      const at = held.get(fence.migration) ?? 0;
      if (at > fence.epoch) throw fencedError(this.#store, operation, fence, at);
    }
  }

  /**
   * In its own transaction: the row if absent, its exclusive lock (waiting
   * for fenced writes in flight), then `epoch = greatest(epoch, fence.epoch)`.
   *
   * PostgreSQL grants new share locks of a row past a waiting exclusive one,
   * so under a steady stream of fenced writes the row's lock alone may never
   * come (a backfill's raise timed out under 2 000 writes/s). There the raise
   * first takes the fence table's lock that queues in order: it waits for the
   * writes holding the fence, and the writes after it wait for its commit.
   *
   * A fence row already at `fence.epoch` or above is left as it is, with no
   * lock: the raise that committed it waited for every write under a lower
   * fence, and every later one is refused, so there is nothing to wait for,
   * and no reason to hold up the writes (every start and every job raises to
   * an epoch the fleet's phase change raised to already).
   */
  async raise(conn: SqlConnection, fence: Fence): Promise<void> {
    const committed = await this.read(conn, fence.migration);
    // Without a row there is nothing writes hold yet: the raise creates it (a migration's start raises to 0 for that).
    if (committed !== undefined && committed >= fence.epoch) return;
    // A leased range's fence has one writer, its holder: no stream of writers to starve its raise, and no reason to hold
    // up every other fenced write behind a holder frozen inside a transaction (regression: a SIGSTOPped worker's open
    // transaction held the table lock of every other worker's claim, so none could take its range over).
    const queued = fence.migration.includes(LEASE_FENCE_MARK) ? undefined : this.#dialect.fenceRaiseLock?.(this.#table);
    if (queued) await conn.query(queued, []);
    await this.#ensureRow(conn, fence.migration);
    const current = (await this.read(conn, fence.migration, 'update')) ?? 0;
    if (fence.epoch <= current) return;
    const d = this.#dialect;
    await conn.query(
      `UPDATE ${this.#table} SET ${this.#epoch} = ${d.placeholder(1)} WHERE ${this.#migration} = ${d.placeholder(2)}`,
      [fence.epoch, fence.migration],
    );
  }
}
