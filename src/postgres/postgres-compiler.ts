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
  deletedAtColumn: (): string => 'timestamptz NOT NULL DEFAULT now()',
});
