import type { ColumnFamily } from '../mapping/codecs.js';
import { cellText, type ColumnInfo, type TableInfo, type UniqueInfo } from '../sql/sql-catalog.js';
import type { SqlConnection } from '../sql/sql-driver.js';

/** SQLite's type affinity rules (datatype3.html §3.1), in their order. */
function affinity(declared: string): ColumnFamily {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'int64';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('BLOB') || t === '') return 'bytes';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'float';
  return 'numeric';
}

/** A table's columns, primary key and unique indexes, from SQLite's pragmas (`undefined`: no such table). */
export async function introspectSqlite(
  conn: SqlConnection,
  table: string,
  schema: string | undefined,
): Promise<TableInfo | undefined> {
  const { rows } = await conn.query(
    'SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info(?, ?)',
    [table, schema ?? 'main'],
  );
  if (rows.length === 0) return undefined;
  const columns = new Map<string, ColumnInfo>();
  const pk: { name: string; pos: number }[] = [];
  for (const r of rows) {
    const name = cellText(r[0]) ?? '';
    const type = (cellText(r[1]) ?? '').toLowerCase();
    const pkPos = Number(r[4]);
    const rowidAlias = pkPos > 0 && type === 'integer';
    columns.set(name, {
      name,
      type: type || 'blob',
      family: affinity(type),
      nullable: Number(r[2]) === 0,
      hasDefault: Number(r[3]) === 1 || rowidAlias,
    });
    if (pkPos > 0) pk.push({ name, pos: pkPos });
  }
  const uniques: UniqueInfo[] = [];
  const indexes = await conn.query('SELECT name FROM pragma_index_list(?, ?) WHERE "unique" = 1 AND partial = 0', [
    table,
    schema ?? 'main',
  ]);
  for (const [index] of indexes.rows) {
    const name = cellText(index) ?? '';
    // index_xinfo names each key column's collation (NOCASE ignores case); rows with key = 0 are the rowid and such.
    const cols = await conn.query('SELECT name, coll FROM pragma_index_xinfo(?, ?) WHERE key = 1 ORDER BY seqno', [
      name,
      schema ?? 'main',
    ]);
    const named = cols.rows.map((r) => ({
      column: cellText(r[0]) ?? '',
      nocase: (cellText(r[1]) ?? '').toUpperCase() === 'NOCASE',
    }));
    uniques.push({
      name,
      columns: named.map((c) => c.column),
      caseInsensitive: named.filter((c) => c.nocase).map((c) => c.column),
    });
  }
  // An INTEGER PRIMARY KEY is the rowid: unique, with no index of its own.
  const keyCols = pk.sort((a, b) => a.pos - b.pos).map((p) => p.name);
  if (
    keyCols.length > 0 &&
    !uniques.some((u) => u.columns.length === keyCols.length && u.columns.every((c, i) => c === keyCols[i]))
  )
    uniques.push({ name: 'PRIMARY KEY', columns: keyCols });
  return { columns, primaryKey: keyCols, uniques };
}
