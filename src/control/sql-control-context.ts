import { MidairError } from '../core/errors.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SqlConnection, SqlDriver, SqlResult, TransactionOptions } from '../sql/sql-driver.js';
import { SqlRunner } from '../sql/sql-transaction.js';
import { REPAIR_DIRECTIONS, type RepairDirection } from './control-store.js';
import { controlSchema, MYSQL_KEY_LIMITS, type ControlColumn, type ControlSchema } from './sql-control-schema.js';

const DEADLOCK_RETRIES = 8;

/** What the parts of the SQL control store share: the schema, statement helpers, error wrapping and the clock. */
export interface SqlControlContext {
  readonly name: string;
  readonly prefix: string;
  readonly dialect: SqlDialect;
  readonly driver: SqlDriver;
  readonly schema: ControlSchema;
  readonly t: ControlSchema['t'];
  readonly c: ControlSchema['c'];
  /** Rows per multi-row statement, within the dialect's parameter limit. */
  readonly batchRows: number;
  /** Epoch milliseconds: every time the store computes comes from here. */
  readonly now: () => number;
  /** The `i`-th (1-based) placeholder. */
  readonly ph: (i: number) => string;
  /** `?, ?, …` for `width` parameters numbered after `offset`. */
  readonly placeholders: (offset: number, width: number) => string;
  /** `(?, ?, …)`. */
  readonly tuple: (offset: number, width: number) => string;
  readonly cols: (list: readonly ControlColumn[]) => string;
  readonly query: (operation: string, sql: string, params: readonly unknown[]) => Promise<SqlResult>;
  /** One statement that commits by itself, retried on deadlock (a write that needs no transaction around it). */
  readonly statement: (operation: string, sql: string, params: readonly unknown[]) => Promise<SqlResult>;
  /** One transaction, retried when the database aborts it for a deadlock (it then wrote nothing). */
  readonly transaction: <T>(
    operation: string,
    fn: (conn: SqlConnection) => Promise<T>,
    options?: TransactionOptions,
  ) => Promise<T>;
  readonly wrap: (operation: string, err: unknown) => MidairError;
  readonly invalid: (operation: string, what: string) => MidairError;
  /** MySQL key columns are VARCHAR(n): refuse what would not fit rather than let a lax server truncate it. */
  readonly fits: (operation: string, what: string, value: string, limit: number) => void;
  readonly checkMigration: (operation: string, migration: string) => void;
  readonly checkDirection: (operation: string, direction: RepairDirection) => void;
  readonly checkLimit: (operation: string, limit: number) => void;
}

export function sqlControlContext(
  dialect: SqlDialect,
  driver: SqlDriver,
  options: { name?: string; tablePrefix?: string; now?: () => number; source?: string },
): SqlControlContext {
  const name = options.name ?? `${dialect.name}:control`;
  const prefix = options.tablePrefix ?? 'midair_';
  const schema = controlSchema(dialect, prefix);
  const ph = (i: number): string => dialect.compiler.placeholder(i);
  const placeholders = (offset: number, width: number): string =>
    Array.from({ length: width }, (_, i) => ph(offset + i + 1)).join(', ');

  const runner = new SqlRunner(driver, {
    name,
    engine: dialect.name,
    source: options.source,
    classify: (err) => dialect.classifyError(err),
    hint: (code) => (code === 'SCHEMA_MISMATCH' ? '; run setup() to create the control tables' : ''),
    deadlockRetries: DEADLOCK_RETRIES,
  });
  const invalid = (operation: string, what: string): MidairError =>
    new MidairError('INVALID_ARGUMENT', `${operation} on ${name}: ${what}`, { details: { store: name, operation } });
  const fits = (operation: string, what: string, value: string, limit: number): void => {
    if (dialect.name === 'mysql' && [...value].length > limit)
      throw invalid(operation, `${what} is longer than the ${limit} characters MySQL's control tables hold`);
  };

  return {
    name,
    prefix,
    dialect,
    driver,
    schema,
    t: schema.t,
    c: schema.c,
    batchRows: Math.max(1, Math.min(500, Math.floor(dialect.compiler.maxParams / 8))),
    now: options.now ?? Date.now,
    ph,
    placeholders,
    tuple: (offset, width) => `(${placeholders(offset, width)})`,
    cols: (list) => list.map((x) => schema.c[x]).join(', '),
    query: (operation, sql, params) => runner.query(operation, sql, params),
    statement: (operation, sql, params) => runner.statement(operation, sql, params),
    transaction: (operation, fn, txOptions) => runner.transaction(operation, fn, { tx: txOptions }),
    wrap: (operation, err) => runner.wrap(operation, err),
    invalid,
    fits,
    checkMigration: (operation, migration) =>
      fits(operation, 'the migration name', migration, MYSQL_KEY_LIMITS.migration),
    checkDirection(operation, direction) {
      if (!(REPAIR_DIRECTIONS as readonly string[]).includes(direction))
        throw invalid(operation, `direction must be one of ${REPAIR_DIRECTIONS.join(', ')}`);
    },
    checkLimit(operation, limit) {
      if (!(Number.isSafeInteger(limit) && limit >= 0))
        throw invalid(operation, 'limit must be a non-negative integer');
    },
  };
}
