import type { SqlDriver, SqlResult } from '../sql/sql-driver.js';
import { ExclusiveConnection, runTransaction } from '../sql/sql-transaction.js';

/** The subset of a `better-sqlite3` statement midair uses. */
export interface SqliteStatement {
  readonly reader: boolean;
  raw(toggle?: boolean): this;
  safeIntegers(toggle?: boolean): this;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

/** The subset of a `better-sqlite3` database midair uses: it never needs the package itself. */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  close(): unknown;
  /**
   * Registers an aggregate function (verification hashes rows with one):
   * better-sqlite3's `aggregate(name, { start, step, result, varargs, safeIntegers })`.
   */
  aggregate?(name: string, options: never): unknown;
}

export interface SqliteDriverOptions {
  /** Close the database on `close()`: only for a handle midair opened. Default false. */
  readonly ownsDatabase?: boolean;
}

const CACHE_LIMIT = 256;

const BEGIN_IMMEDIATE = (): readonly string[] => ['BEGIN IMMEDIATE'];

/**
 * Adapts a `better-sqlite3` database to midair's SQL driver contract.
 *
 * better-sqlite3 is synchronous, so a single statement never interleaves with
 * another; a transaction spans awaits, so the handle has one mutex
 * (src/sql/sql-transaction.ts): transactions and statements outside them run
 * one at a time in the order they were called, and none slips into another's
 * transaction. `BEGIN IMMEDIATE` takes SQLite's write lock up front,
 * serialising writers across processes too. Stores that share one handle
 * each have their own driver: a statement of one may run inside another's
 * transaction (a sync's read of the source on the same handle relies on it).
 */
export function sqliteDriver(db: SqliteDatabase, options: SqliteDriverOptions = {}): SqlDriver {
  const cache = new Map<string, SqliteStatement>();
  const prepare = (sql: string): SqliteStatement => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql).safeIntegers(true);
      if (stmt.reader) stmt.raw(true);
      if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      cache.set(sql, stmt);
    }
    return stmt;
  };
  const exec = (sql: string, params: readonly unknown[] = []): SqlResult => {
    const stmt = prepare(sql);
    if (stmt.reader) return { rows: stmt.all(...params) as unknown[][], affected: 0 };
    return { rows: [], affected: stmt.run(...params).changes };
  };

  // Every statement — outside or inside a transaction — takes its turn on the one handle.
  const handle = new ExclusiveConnection({ query: async (sql, params) => Promise.resolve(exec(sql, params)) });

  return {
    query: (sql, params) => handle.query(sql, params),
    // BEGIN IMMEDIATE takes SQLite's write lock up front (no isolation to choose: SQLite is serializable).
    transaction: (fn, txOptions) => runTransaction(() => handle.acquire(), BEGIN_IMMEDIATE, fn, txOptions),
    ...(db.aggregate
      ? {
          defineHashAggregate(name: string, hashRow: (raw: readonly unknown[]) => bigint): void {
            const options = {
              start: 0n,
              step: (total: bigint, ...raw: unknown[]) => total + hashRow(raw),
              result: (total: bigint) => total.toString(),
              varargs: true,
              deterministic: true,
              safeIntegers: true,
            };
            db.aggregate?.(name, options as never);
          },
        }
      : {}),
    async close() {
      cache.clear();
      if (options.ownsDatabase) db.close();
      return Promise.resolve();
    },
  };
}
