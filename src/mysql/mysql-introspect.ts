import type { ColumnFamily } from '../mapping/codecs.js';
import { cellText, type ColumnInfo, type TableInfo } from '../sql/sql-catalog.js';
import type { SqlConnection } from '../sql/sql-driver.js';

function family(dataType: string, columnType: string): ColumnFamily {
  switch (dataType) {
    case 'tinyint':
      return columnType.startsWith('tinyint(1)') ? 'boolean' : 'int32';
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
      return 'int32';
    case 'bigint':
      return 'int64';
    case 'decimal':
    case 'numeric':
      return 'numeric';
    case 'float':
    case 'double':
      return 'float';
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'enum':
    case 'set':
      return 'text';
    case 'json':
      return 'json';
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return 'bytes';
    case 'timestamp':
      return 'timestamptz';
    case 'datetime':
      return 'timestamp';
    case 'date':
      return 'date';
    case 'uuid':
      return 'uuid';
    default:
      return 'other';
  }
}

/** A table's columns, primary key and unique indexes, from MySQL's or MariaDB's information_schema (`undefined`: no such table). */
export async function introspectMysql(
  conn: SqlConnection,
  table: string,
  schema: string | undefined,
): Promise<TableInfo | undefined> {
  const { rows } = await conn.query(
    `SELECT COLUMN_NAME, LOWER(COLUMN_TYPE), LOWER(DATA_TYPE), IS_NULLABLE, COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' OR EXTRA LIKE '%GENERATED%',
            DATETIME_PRECISION, LOWER(CHARACTER_SET_NAME), LOWER(COLLATION_NAME)
       FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
      ORDER BY ORDINAL_POSITION`,
    [schema ?? null, table],
  );
  if (rows.length === 0) return undefined;
  const columns = new Map<string, ColumnInfo>();
  for (const r of rows) {
    const [name, type, dataType, nullable, hasDefault, precision, charset, collation] = r.map(cellText);
    const fam = family(dataType ?? '', type ?? '');
    columns.set(name ?? '', {
      name: name ?? '',
      type: type ?? '',
      family: fam,
      nullable: nullable === 'YES',
      hasDefault: hasDefault === '1',
      fractionalDigits: fam === 'timestamptz' || fam === 'timestamp' ? Number(precision ?? 0) : undefined,
      charset: charset ?? undefined,
      collation: collation ?? undefined,
      // `_ci` (and `_ai_ci`) collations ignore case; `_bin`, `_cs` and binary columns do not.
      caseInsensitive: collation ? /_ci$/.test(collation) : undefined,
    });
  }
  const pk = await conn.query(
    `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
      ORDER BY ORDINAL_POSITION`,
    [schema ?? null, table],
  );
  const unique = await conn.query(
    `SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [schema ?? null, table],
  );
  const uniques = new Map<string, string[]>();
  for (const r of unique.rows) {
    const [index, column] = r.map(cellText);
    uniques.set(index ?? '', [...(uniques.get(index ?? '') ?? []), column ?? '']);
  }
  return {
    columns,
    primaryKey: pk.rows.map((r) => cellText(r[0]) ?? ''),
    uniques: [...uniques].map(([name, cols]) => ({ name, columns: cols })),
  };
}
