import { sqlCompiler, valuesList } from '../sql/sql-compiler.js';

/** PostgreSQL's spelling of SQL. */
export const postgresCompiler = sqlCompiler({
  name: 'postgres',
  maxParams: 65_000,
  arrayParams: true,
  quoteId: (name: string): string => `"${name.replace(/"/g, '""')}"`,
  placeholder: (index: number): string => `$${index}`,
  upsert(
    table: string,
    columns: readonly string[],
    keyColumns: readonly string[],
    rows: readonly (readonly string[])[],
  ): string {
    const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
    const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${valuesList(rows)} ON CONFLICT (${keyColumns.join(', ')}) ${action}`;
  },
  deletedAtColumn: (): string => 'timestamptz NOT NULL DEFAULT now()',
});
