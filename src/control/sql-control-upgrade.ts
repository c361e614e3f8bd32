import type { SqlControlContext } from './sql-control-context.js';
import { text } from './sql-control-rows.js';

/**
 * Adds the schema's newer columns to control tables created before them,
 * idempotently: PostgreSQL with `ADD COLUMN IF NOT EXISTS`; MySQL/MariaDB
 * and SQLite after reading the table's columns (MySQL 8 has no `IF NOT
 * EXISTS` there). When two processes upgrade at once and one `ALTER` fails
 * because the other added the column first, the column is there: that is
 * not an error.
 */
export async function addMissingColumns(x: SqlControlContext): Promise<void> {
  const { dialect, schema } = x;
  if (dialect.name === 'postgres') {
    for (const a of schema.added)
      await x.query('setup', `ALTER TABLE ${schema.t[a.table]} ADD COLUMN IF NOT EXISTS ${a.definition}`, []);
    return;
  }
  const columnsOf = async (table: string): Promise<Set<string>> => {
    const sql =
      dialect.name === 'mysql'
        ? `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${x.ph(1)}`
        : `SELECT name FROM pragma_table_info(${x.ph(1)})`;
    const { rows } = await x.query('setup', sql, [table]);
    return new Set(rows.map((r) => text(r, 0, table, 'column_name')));
  };
  for (const table of new Set(schema.added.map((a) => a.table))) {
    const name = x.prefix + table;
    const present = await columnsOf(name);
    for (const a of schema.added.filter((y) => y.table === table && !present.has(y.column))) {
      try {
        await x.query('setup', `ALTER TABLE ${schema.t[table]} ADD COLUMN ${a.definition}`, []);
      } catch (err) {
        if (!(await columnsOf(name)).has(a.column)) throw err;
      }
    }
  }
}
