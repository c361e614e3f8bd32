import { sqlCompiler, valuesList } from '../sql/sql-compiler.js';

/** SQLite's spelling of SQL. SQLite has no row locks: `BEGIN IMMEDIATE` already holds the database's write lock. */
export const sqliteCompiler = sqlCompiler({
  name: 'sqlite',
  maxParams: 32_000,
  forUpdate: '',
  forShare: '',
  quoteId: (name: string): string => `"${name.replace(/"/g, '""')}"`,
  placeholder: (): string => '?',
  upsert(
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly string[])[],
  ): string {
    const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = excluded.${c}`);
    const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${valuesList(rows)} ON CONFLICT (${keyColumns.join(', ')}) ${action}`;
  },
  deletedAtColumn: (): string => `TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
});
