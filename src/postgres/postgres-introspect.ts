import type { ColumnFamily } from '../mapping/codecs.js';
import { cellText, type ColumnInfo, type TableInfo } from '../sql/sql-catalog.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import { postgresCompiler } from './postgres-compiler.js';

const FAMILIES: Record<string, ColumnFamily> = {
  int2: 'int32',
  int4: 'int32',
  int8: 'int64',
  numeric: 'numeric',
  float4: 'float',
  float8: 'float',
  text: 'text',
  varchar: 'text',
  bpchar: 'text',
  name: 'text',
  citext: 'text',
  bool: 'boolean',
  timestamptz: 'timestamptz',
  timestamp: 'timestamp',
  date: 'date',
  json: 'json',
  jsonb: 'json',
  bytea: 'bytes',
  uuid: 'uuid',
};

/** A table's columns, primary key and unique indexes, from PostgreSQL's catalog (`undefined`: no such table). */
export async function introspectPostgres(
  conn: SqlConnection,
  table: string,
  schema: string | undefined,
): Promise<TableInfo | undefined> {
  const qualified = postgresCompiler.qualify(table, schema);
  const { rows } = await conn.query(
    `SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, a.attnotnull, a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '', a.atttypmod,
            coalesce(array_position(i.indkey::int2[], a.attnum) + 1, 0), -- int2vector subscripts start at 0
            co.collname, NOT coalesce(co.collisdeterministic, true)
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
       LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [qualified],
  );
  if (rows.length === 0) return undefined;
  const columns = new Map<string, ColumnInfo>();
  const pk: { name: string; pos: number }[] = [];
  for (const r of rows) {
    const [name, type, typname, notnull, hasDefault, typmod, pkPos, collation, nondeterministic] = r.map(
      (v) => cellText(v) ?? '',
    );
    const family = FAMILIES[typname ?? ''] ?? 'other';
    const isTime = family === 'timestamptz' || family === 'timestamp';
    const mod = Number(typmod);
    columns.set(name ?? '', {
      name: name ?? '',
      type: type ?? '',
      family,
      nullable: notnull !== 't',
      hasDefault: hasDefault === 't',
      fractionalDigits: isTime ? (mod >= 0 ? mod : 6) : undefined,
      collation: collation || undefined,
      // A deterministic collation compares bytes in the end: case always matters. Only a nondeterministic (ICU) one may ignore it.
      caseInsensitive: collation ? nondeterministic === 't' : undefined,
    });
    if (Number(pkPos) > 0) pk.push({ name: name ?? '', pos: Number(pkPos) });
  }
  const unique = await conn.query(
    `SELECT c.relname, a.attname
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, pos)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL
      ORDER BY c.relname, k.pos`,
    [qualified],
  );
  const uniques = new Map<string, string[]>();
  for (const r of unique.rows) {
    const [index, column] = r.map((v) => cellText(v) ?? '');
    uniques.set(index ?? '', [...(uniques.get(index ?? '') ?? []), column ?? '']);
  }
  return {
    columns,
    primaryKey: pk.sort((a, b) => a.pos - b.pos).map((p) => p.name),
    uniques: [...uniques].map(([name, cols]) => ({ name, columns: cols })),
  };
}
