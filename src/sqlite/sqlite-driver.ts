import type { SqlConnection, SqlDriver, SqlResult } from '../sql/sql-driver.js';

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

/**
 * Adapts a `better-sqlite3` database to midair's SQL driver contract.
 *
 * better-sqlite3 is synchronous, so a single statement never interleaves with
 * another; a transaction spans awaits, so transactions — and statements issued
 * while one is open — queue behind a lock and cannot slip into it. `BEGIN
 * IMMEDIATE` takes SQLite's write lock up front, serialising writers across
 * processes too.
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

  let lock: Promise<void> = Promise.resolve();
  let inTransaction = false;
  const direct: SqlConnection = {
    query: async (sql, params) => {
      await Promise.resolve();
      return exec(sql, params);
    },
  };

  return {
    async query(sql, params) {
      if (inTransaction) await lock;
      return direct.query(sql, params);
    },
    async transaction<T>(fn: (conn: SqlConnection) => Promise<T>): Promise<T> {
      const previous = lock;
      let release = (): void => undefined;
      lock = new Promise<void>((resolve) => (release = resolve));
      await previous;
      inTransaction = true;
      try {
        exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(direct);
          exec('COMMIT');
          return result;
        } catch (err) {
          exec('ROLLBACK');
          throw err;
        }
      } finally {
        inTransaction = false;
        release();
      }
    },
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
