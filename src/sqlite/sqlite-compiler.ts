import { doubleQuoted, onConflictUpsert, onConflictUpsertFrom, sqlCompiler } from '../sql/sql-compiler.js';

/** SQLite's spelling of SQL. SQLite has no row locks: `BEGIN IMMEDIATE` already holds the database's write lock. */
export const sqliteCompiler = sqlCompiler({
  name: 'sqlite',
  maxParams: 32_000,
  forUpdate: '',
  forShare: '',
  quoteId: doubleQuoted,
  placeholder: (): string => '?',
  upsert: onConflictUpsert,
  upsertFrom: onConflictUpsertFrom,
  updateReturning: true,
  deletedAtColumn: (): string => `TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
});
