import type { DialectName } from '../mapping/codecs.js';
import type { ForeignKeyRef } from '../core/check-report.js';
import type { TableInfo } from './sql-catalog.js';
import type { SqlCompiler } from './sql-compiler.js';
import type { SqlConnection, TransactionOptions } from './sql-driver.js';
import type { ClassifiedError } from './sql-errors.js';
import type { HashSql } from './sql-hash.js';
import type { SameEngineCopy } from './sql-same-engine.js';

export type { ColumnInfo, TableInfo, UniqueInfo } from './sql-catalog.js';
export type { ClassifiedError } from './sql-errors.js';

/**
 * One engine, as the generic SQL layer sees it: the pieces its folder
 * supplies — the compiler (SQL text), the introspector, the error
 * classifier, the hash SQL, the same-engine copy — and the few statements
 * only it knows how to run (key locks, bulk upserts).
 */
export abstract class SqlDialect {
  abstract readonly compiler: SqlCompiler;
  /** Row hashes in SQL (verification pushdown), where the engine has them. */
  readonly hashSql?: HashSql | undefined;
  /** Copies between two stores of this engine as the database prints rows, where it can. */
  readonly sameEngineCopy?: SameEngineCopy | undefined;
  /** How midair's write transactions run. */
  readonly writeTransaction: TransactionOptions = {};

  get name(): DialectName {
    return this.compiler.name;
  }

  /** The compiler's quoting and row lock, for callers that hold only the dialect (the control store's statements). */
  quoteId(name: string): string {
    return this.compiler.quoteId(name);
  }

  get forUpdate(): string {
    return this.compiler.forUpdate;
  }

  /**
   * The commit probe's one statement on the probe `table` (qualified):
   * inserts the row of the slot bound as its only parameter, or flips its
   * counter, so it always changes a row and its commit always writes the log.
   * Standard SQL's upsert; engines that spell it otherwise override it.
   */
  commitProbeSql(table: string): string {
    const [slot, n] = [this.quoteId('slot'), this.quoteId('n')];
    return `INSERT INTO ${table} AS p (${slot}, ${n}) VALUES (${this.compiler.placeholder(1)}, 1) ON CONFLICT (${slot}) DO UPDATE SET ${n} = 1 - p.${n}`;
  }

  /** Serialises writers of the same keys for the rest of the transaction (beyond what row locks give). */
  abstract lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void>;

  abstract introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined>;
  /** Foreign keys of any table that reference `table` (its own included). */
  abstract referencedBy(conn: SqlConnection, table: string, schema: string | undefined): Promise<ForeignKeyRef[]>;

  abstract classifyError(err: unknown): ClassifiedError;

  /**
   * A faster upsert of many rows, where the engine has one (PostgreSQL: COPY
   * into a staging table, then one merge). `rows` hold encoded values (no
   * placeholders). Resolves false when it cannot run here (the caller then
   * uses plain multi-row upserts). `fresh`: the caller holds the keys' locks
   * and read that none of them exists, so the rows may go straight in.
   */
  bulkUpsert?(
    conn: SqlConnection,
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly unknown[])[],
    fresh?: boolean,
  ): Promise<boolean>;

  /**
   * {@link bulkUpsert} of rows as another table of the same column types
   * printed them with a binary COPY (PostgreSQL). Resolves false when it
   * cannot run here.
   */
  bulkUpsertBinary?(
    conn: SqlConnection,
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    tuples: readonly Buffer[],
    fresh: boolean,
  ): Promise<boolean>;
}
