import type { ConnectionTarget } from './connection-problems.js';

/**
 * What the generic SQL store needs from a database client: run a statement
 * with bound parameters and get rows as arrays of raw values, and run a
 * function inside one transaction on one connection. Each dialect folder
 * adapts its driver to this; the core never imports a driver.
 */
export interface SqlResult {
  /** Rows as arrays, in SELECT-list order, values as the driver gave them (text where midair asked for text). */
  readonly rows: readonly (readonly unknown[])[];
  /** Rows changed by INSERT/UPDATE/DELETE. */
  readonly affected: number;
}

export interface SqlConnection {
  query(sql: string, params?: readonly unknown[]): Promise<SqlResult>;
  /** Streams `data` into a `COPY … FROM STDIN` statement (PostgreSQL, inside a transaction), when the driver can. */
  copyIn?(sql: string, data: string | Buffer): Promise<void>;
  /** Everything a `COPY … TO STDOUT` statement writes (PostgreSQL), on this connection; `undefined` when the driver cannot. */
  copyOut?(sql: string): Promise<Buffer | undefined>;
}

export interface TransactionOptions {
  /** Isolation for this transaction only. */
  readonly isolation?: 'read committed' | 'repeatable read';
  /** A statement run on the same connection after COMMIT or ROLLBACK (MySQL: release the named key locks). */
  readonly cleanup?: string;
}

export interface SqlDriver extends SqlConnection {
  /** The connection pool the driver draws on (its identity only: stores on one pool share its connections). */
  readonly pool?: object;
  /** Where the pool connects and whether it asks for TLS, from its settings: named in connection failures (never credentials). */
  readonly target?: ConnectionTarget | undefined;
  transaction<T>(fn: (conn: SqlConnection) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Closes only what the driver opened itself. */
  close(): Promise<void>;
  /**
   * Registers an aggregate SQL function `name(columns…)` that sums
   * `hashRow(columns)` over the rows and returns the sum as decimal text —
   * for an embedded database that can call back into JS (SQLite), so
   * verification hashes inside its scan whatever the codecs.
   */
  defineHashAggregate?(name: string, hashRow: (raw: readonly unknown[]) => bigint): void;
}
