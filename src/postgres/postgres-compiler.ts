import { doubleQuoted, onConflictUpsert, onConflictUpsertFrom, sqlCompiler } from '../sql/sql-compiler.js';

/** PostgreSQL's spelling of SQL. */
export const postgresCompiler = sqlCompiler({
  name: 'postgres',
  maxParams: 65_000,
  arrayParams: true,
  quoteId: doubleQuoted,
  placeholder: (index: number): string => `$${index}`,
  upsert: onConflictUpsert,
  upsertFrom: onConflictUpsertFrom,
  updateReturning: true,
  // EXCLUSIVE conflicts with the ROW SHARE lock every `SELECT … FOR SHARE` of the table takes, and PostgreSQL queues
  // table locks in order: the raise waits for the writes holding the fence, and later writes wait for the raise.
  fenceRaiseLock: (table: string): string => `LOCK TABLE ${table} IN EXCLUSIVE MODE`,
  deletedAtColumn: (): string => 'timestamptz NOT NULL DEFAULT now()',
});
