import type { SqlDriver, SqlResult, TransactionOptions } from '../sql/sql-driver.js';
import { runTransaction, type Session } from '../sql/sql-transaction.js';
import { mysqlTarget } from './mysql-target.js';

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
const PASS_THROUGH = new Set([
  'VAR_STRING',
  'STRING',
  'VARCHAR',
  'BLOB',
  'TINY_BLOB',
  'MEDIUM_BLOB',
  'LONG_BLOB',
  'ENUM',
  'SET',
  'BIT',
  'GEOMETRY',
]);

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

/** A pooled connection for one transaction; a broken one (it may hold locks) is destroyed, not pooled. */
async function session(pool: MysqlPool): Promise<Session> {
  const conn = await pool.getConnection();
  return {
    conn: { query: (sql, params) => run(conn, sql, params) },
    release: (broken) => {
      if (broken && conn.destroy) conn.destroy();
      else conn.release();
    },
  };
}

/** The isolation level applies to the next transaction only, whatever the pool's default. */
function begin(options: TransactionOptions): readonly string[] {
  const isolation = options.isolation ? [`SET TRANSACTION ISOLATION LEVEL ${options.isolation.toUpperCase()}`] : [];
  return [...isolation, 'START TRANSACTION'];
}

export interface MysqlDriverOptions {
  /** End the pool on `close()`: only for a pool midair created. Default false. */
  readonly ownsPool?: boolean;
}

/** Adapts a `mysql2/promise` pool to midair's SQL driver contract. */
export function mysqlDriver(pool: MysqlPool, options: MysqlDriverOptions = {}): SqlDriver {
  return {
    pool,
    target: mysqlTarget(pool),
    query: (sql, params) => run(pool, sql, params),
    transaction: (fn, txOptions) => runTransaction(() => session(pool), begin, fn, txOptions),
    async close() {
      if (options.ownsPool) await pool.end?.();
    },
  };
}
