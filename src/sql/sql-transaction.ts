import { throwIfAborted, type MidairError } from '../core/errors.js';
import { KeyedMutex } from '../core/keyed-mutex.js';
import type { SqlConnection, SqlDriver, SqlResult, TransactionOptions } from './sql-driver.js';
import type { DialectName } from '../mapping/codecs.js';
import { wrapSqlError, type ErrorClassifier, type ErrorHint } from './sql-errors.js';

/** One connection checked out for a transaction, and how to give it back. */
export interface Session {
  /** Statements on this connection only. */
  readonly conn: SqlConnection;
  /** Gives the connection back; `broken`: it may still hold a transaction or locks, so it must not be reused. */
  release(broken: boolean): void;
}

/** The statements that open a transaction with these options, in order (a driver's spelling of BEGIN). */
export type BeginStatements = (options: TransactionOptions) => readonly string[];

/**
 * The one transaction runner every SQL driver uses: check out a session,
 * open the transaction, run `fn` on that session's connection only, COMMIT
 * (or ROLLBACK on any failure, including a failed COMMIT), then run the
 * options' cleanup statement and give the session back. A session whose
 * ROLLBACK or cleanup failed is released as broken.
 */
export async function runTransaction<T>(
  acquire: () => Promise<Session>,
  begin: BeginStatements,
  fn: (conn: SqlConnection) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const session = await acquire();
  const { conn } = session;
  let broken = false;
  try {
    for (const sql of begin(options)) await conn.query(sql);
    const result = await fn(conn);
    await conn.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await conn.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw err;
  } finally {
    if (!broken && options.cleanup) {
      try {
        await conn.query(options.cleanup);
      } catch {
        broken = true; // a connection that may still hold locks must not be reused
      }
    }
    session.release(broken);
  }
}

/**
 * One connection shared by everything a driver runs (an embedded database's
 * handle): a mutex in front of it, as Kysely's SQLite driver has. A statement
 * outside any transaction waits its turn like a transaction, so no statement
 * runs inside another's transaction, whatever the order calls arrive in.
 */
export class ExclusiveConnection {
  readonly #conn: SqlConnection;
  readonly #mutex = new KeyedMutex();

  constructor(conn: SqlConnection) {
    this.#conn = conn;
  }

  /** The connection, once every earlier holder gave it back. */
  async acquire(): Promise<Session> {
    const release = await this.#mutex.acquire('');
    return { conn: this.#conn, release: () => release() };
  }

  /** One statement outside any transaction, in its turn. */
  async query(sql: string, params?: readonly unknown[]): Promise<SqlResult> {
    const release = await this.#mutex.acquire('');
    try {
      return await this.#conn.query(sql, params);
    } finally {
      release();
    }
  }
}

/** `conn` checking `signal` before each statement (a caller that gave up stops at the next one, releasing its locks early). */
export function guardedConnection(conn: SqlConnection, signal: AbortSignal, operation: string): SqlConnection {
  return {
    query: async (sql, params) => {
      throwIfAborted(signal, operation);
      return conn.query(sql, params);
    },
    // Regression: the guard once dropped COPY, so a call given a signal lost the bulk path (and a binary copy failed).
    ...(conn.copyIn
      ? {
          copyIn: async (sql: string, data: string | Buffer) => {
            throwIfAborted(signal, operation);
            return conn.copyIn?.(sql, data);
          },
        }
      : {}),
    ...(conn.copyOut
      ? {
          copyOut: async (sql: string) => {
            throwIfAborted(signal, operation);
            return conn.copyOut?.(sql);
          },
        }
      : {}),
  };
}

export interface SqlRunnerOptions {
  /** The store's name, for messages. */
  readonly name: string;
  /** The engine, for the fixes connection failures suggest. */
  readonly engine: DialectName;
  /** Where the store's URL came from (a config field), leading connection failures' messages. */
  readonly source?: string | undefined;
  readonly classify: ErrorClassifier;
  /** What a failure's message adds on how to fix it (`run setup()`). */
  readonly hint?: ErrorHint;
  /** Attempts for a transaction aborted by a deadlock before the error reaches the caller. Default 8. */
  readonly deadlockRetries?: number;
}

/**
 * The one way midair runs SQL (stores and the control store alike): single
 * statements and transactions on the driver, every failure wrapped by one
 * classifier, transactions retried when the database aborts them for a
 * deadlock (they then wrote nothing), and a caller's abort signal checked
 * before each statement.
 */
export class SqlRunner {
  readonly driver: SqlDriver;
  readonly #options: SqlRunnerOptions;
  readonly #retries: number;

  constructor(driver: SqlDriver, options: SqlRunnerOptions) {
    this.driver = driver;
    this.#options = options;
    this.#retries = options.deadlockRetries ?? 8;
  }

  get name(): string {
    return this.#options.name;
  }

  wrap(operation: string, err: unknown): MidairError {
    const { classify, name, hint, engine, source } = this.#options;
    return wrapSqlError(err, classify, { store: name, operation, hint, engine, target: this.driver.target, source });
  }

  /** `work`'s failure, wrapped. */
  async attempt<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw this.wrap(operation, err);
    }
  }

  async query(operation: string, sql: string, params: readonly unknown[]): Promise<SqlResult> {
    return this.attempt(operation, () => this.driver.query(sql, params));
  }

  /** One statement on its own (it commits by itself), retried like a transaction when the database aborts it for a deadlock. */
  async statement(operation: string, sql: string, params: readonly unknown[]): Promise<SqlResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.driver.query(sql, params);
      } catch (err) {
        const error = this.wrap(operation, err);
        if (error.code !== 'DEADLOCK' || attempt >= this.#retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  /** One transaction, retried on deadlock; with `signal`, it stops at the next statement once the caller gave up, releasing its locks early. */
  async transaction<T>(
    operation: string,
    fn: (conn: SqlConnection) => Promise<T>,
    options: { tx?: TransactionOptions | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<T> {
    const { signal, tx } = options;
    const guarded = signal ? (conn: SqlConnection): Promise<T> => fn(guardedConnection(conn, signal, operation)) : fn;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal, operation);
      try {
        return await this.driver.transaction(guarded, tx);
      } catch (err) {
        const error = this.wrap(operation, err);
        if (error.code !== 'DEADLOCK' || attempt >= this.#retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }
}
