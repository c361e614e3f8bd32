import type { SqlConnection, SqlDriver, SqlResult, TransactionOptions } from '../sql/sql-driver.js';

/** A field as `mysql2` hands it to a `typeCast` function. */
export interface MysqlTypeCastField {
  readonly type: string;
  /** MariaDB's extended metadata: `json` for its JSON alias of LONGTEXT. */
  readonly extendedFormat?: string;
  string(encoding?: string): string | null;
  buffer(): Buffer | null;
}

export interface MysqlQueryOptions {
  readonly sql: string;
  readonly values?: unknown[];
  readonly rowsAsArray?: boolean;
  readonly typeCast?: (field: MysqlTypeCastField, next: () => unknown) => unknown;
}

/** The subset of a `mysql2/promise` connection midair uses. */
export interface MysqlConnection {
  query(options: MysqlQueryOptions): Promise<[unknown, unknown]>;
}

export interface MysqlPoolConnection extends MysqlConnection {
  release(): void;
  destroy?(): void;
}

/** The subset of a `mysql2/promise` pool midair uses: it never needs the package itself. */
export interface MysqlPool extends MysqlConnection {
  getConnection(): Promise<MysqlPoolConnection>;
  end?(): Promise<void>;
}

/** String and blob columns keep mysql2's own handling (text, or a Buffer for binary); JSON is read as UTF-8 text. */
const PASS_THROUGH = new Set(['VAR_STRING', 'STRING', 'VARCHAR', 'BLOB', 'TINY_BLOB', 'MEDIUM_BLOB', 'LONG_BLOB', 'ENUM', 'SET', 'BIT', 'GEOMETRY']);

/** Numbers, decimals and dates come back as the server's exact text, so codecs decide. */
function typeCast(field: MysqlTypeCastField, next: () => unknown): unknown {
  // Before the pass-through: mysql2 would parse MariaDB's JSON text itself.
  if (field.type === 'JSON' || field.extendedFormat === 'json') return field.string('utf8');
  if (PASS_THROUGH.has(field.type)) return next();
  return field.string();
}

async function run(conn: MysqlConnection, sql: string, params: readonly unknown[] = []): Promise<SqlResult> {
  const [result] = await conn.query({ sql, values: [...params], rowsAsArray: true, typeCast });
  if (Array.isArray(result)) return { rows: result as unknown[][], affected: 0 };
  const header = result as { affectedRows?: number };
  return { rows: [], affected: header.affectedRows ?? 0 };
}

export interface MysqlDriverOptions {
  /** End the pool on `close()`: only for a pool midair created. Default false. */
  readonly ownsPool?: boolean;
}

/** Adapts a `mysql2/promise` pool to midair's SQL driver contract. */
export function mysqlDriver(pool: MysqlPool, options: MysqlDriverOptions = {}): SqlDriver {
  return {
    query: (sql, params) => run(pool, sql, params),
    async transaction<T>(fn: (conn: SqlConnection) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
      const conn = await pool.getConnection();
      let broken = false;
      try {
        // Applies to the next transaction only, whatever the pool's default.
        if (txOptions.isolation) await run(conn, `SET TRANSACTION ISOLATION LEVEL ${txOptions.isolation === 'read committed' ? 'READ COMMITTED' : 'REPEATABLE READ'}`);
        await run(conn, 'START TRANSACTION');
        const result = await fn({ query: (sql, params) => run(conn, sql, params) });
        await run(conn, 'COMMIT');
        return result;
      } catch (err) {
        try {
          await run(conn, 'ROLLBACK');
        } catch {
          broken = true;
        }
        throw err;
      } finally {
        if (!broken && txOptions.cleanup) {
          try {
            await run(conn, txOptions.cleanup);
          } catch {
            broken = true; // a connection that may still hold locks must not go back to the pool
          }
        }
        if (broken && conn.destroy) conn.destroy();
        else conn.release();
      }
    },
    async close() {
      if (options.ownsPool) await pool.end?.();
    },
  };
}
