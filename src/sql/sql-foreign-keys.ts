import type { ForeignKeyRef } from '../core/check-report.js';
import { cellText } from './sql-catalog.js';
import type { SqlConnection } from './sql-driver.js';

/** Catalog rows `(constraint, referencing table, its schema, columns joined by commas)` as references to `references`. */
function refsOf(rows: readonly (readonly unknown[])[], references: string, home: string | undefined): ForeignKeyRef[] {
  return rows.map((r) => {
    const [constraint, table, schema, columns] = r.map((v) => cellText(v) ?? '');
    return {
      constraint: constraint ?? '',
      table: schema && schema !== home ? `${schema}.${table ?? ''}` : (table ?? ''),
      columns: (columns ?? '').split(',').filter((c) => c !== ''),
      references,
    };
  });
}

/** PostgreSQL: `pg_constraint` rows of type `f` whose referenced relation is the table. */
export async function postgresReferencedBy(
  conn: SqlConnection,
  qualified: string,
  table: string,
  schema: string | undefined,
): Promise<ForeignKeyRef[]> {
  const { rows } = await conn.query(
    `SELECT c.conname, cl.relname, ns.nspname,
            array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i), ','),
            (SELECT n.nspname FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace WHERE t.oid = c.confrelid)
       FROM pg_constraint c
       JOIN pg_class cl ON cl.oid = c.conrelid
       JOIN pg_namespace ns ON ns.oid = cl.relnamespace
      WHERE c.contype = 'f' AND c.confrelid = to_regclass($1)
      ORDER BY cl.relname, c.conname`,
    [qualified],
  );
  const home = schema ?? cellText(rows[0]?.[4]) ?? undefined;
  return refsOf(rows, table, home);
}

/** MySQL/MariaDB: `information_schema.KEY_COLUMN_USAGE` rows that reference the table. */
export async function mysqlReferencedBy(
  conn: SqlConnection,
  table: string,
  schema: string | undefined,
): Promise<ForeignKeyRef[]> {
  const { rows } = await conn.query(
    `SELECT CONSTRAINT_NAME, TABLE_NAME, TABLE_SCHEMA, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION SEPARATOR ','),
            REFERENCED_TABLE_SCHEMA
       FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_SCHEMA = COALESCE(?, DATABASE()) AND REFERENCED_TABLE_NAME = ?
      GROUP BY CONSTRAINT_NAME, TABLE_NAME, TABLE_SCHEMA, REFERENCED_TABLE_SCHEMA
      ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
    [schema ?? null, table],
  );
  return refsOf(rows, table, cellText(rows[0]?.[4]) ?? undefined);
}

/** SQLite: every table's `pragma_foreign_key_list` entries that name the table (SQLite's constraints have no names). */
export async function sqliteReferencedBy(conn: SqlConnection, table: string): Promise<ForeignKeyRef[]> {
  const { rows } = await conn.query(
    `SELECT 'foreign key ' || f.id || ' of ' || m.name, m.name, NULL, group_concat(f."from", ',')
       FROM sqlite_master m, pragma_foreign_key_list(m.name) f
      WHERE m.type = 'table' AND f."table" = ?
      GROUP BY m.name, f.id
      ORDER BY m.name, f.id`,
    [table],
  );
  return refsOf(rows, table, undefined);
}
