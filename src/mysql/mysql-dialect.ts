import { SOCKET_ERROR_CODES, SqlDialect, cellText, errorFields, missingTableName, type ClassifiedError, type ColumnInfo, type TableInfo } from '../sql/sql-dialect.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import type { ColumnFamily } from '../mapping/codecs.js';
import { MidairError } from '../core/errors.js';
import { lockId64 } from '../sql/lock-ids.js';
import type { HashKind } from '../verify/canonical.js';

const LOCK_WAIT_SECONDS = 30;

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

/** MySQL's and MariaDB's spelling of SQL, their catalog and their error numbers. */
export class MysqlDialect extends SqlDialect {
  readonly name = 'mysql' as const;
  override readonly maxParams = 60_000;
  override readonly upsertTargetsKeyOnly = false;

  quoteId(name: string): string {
    return `\`${name.replace(/`/g, '``')}\``;
  }

  placeholder(): string {
    return '?';
  }

  /** Expanded form: MariaDB does not use an index for a row-value comparison. */
  override readonly randomOrder = 'RAND()';

  override keyCompare(columns: readonly string[], op: '>' | '<=', param: (part: number) => string): string {
    const strict = op === '>' ? '>' : '<';
    const ors = columns.map((c, i) => {
      const eq = columns.slice(0, i).map((p, j) => `${p} = ${param(j)}`);
      return `(${[...eq, `${c} ${i === columns.length - 1 ? op : strict} ${param(i)}`].join(' AND ')})`;
    });
    return ors.length === 1 ? (ors[0] as string) : `(${ors.join(' OR ')})`;
  }

  upsert(table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly string[])[]): string {
    const values = rows.map((r) => `(${r.join(', ')})`).join(', ');
    const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = VALUES(${c})`);
    const first = keyColumns[0] ?? columns[0] ?? '';
    const action = updates.length > 0 ? updates.join(', ') : `${first} = ${first}`;
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ON DUPLICATE KEY UPDATE ${action}`;
  }

  /**
   * Named locks (`GET_LOCK`) on each key's 64-bit hash, taken in sorted order
   * and released after the transaction ends (they are session locks). Under
   * READ COMMITTED, InnoDB then takes no gap locks, which deadlock writers of
   * neighbouring absent keys.
   */
  /** MariaDB spells FOR SHARE this way (MySQL 8 reads both). */
  override readonly forShare = ' LOCK IN SHARE MODE';

  override readonly writeTransaction = Object.freeze({ isolation: 'read committed' as const, cleanup: 'DO RELEASE_ALL_LOCKS()' });

  async lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const names = [...new Set(keyIds.map((id) => `midair:${lockId64(namespace, id)}`))].sort();
    for (let i = 0; i < names.length; i += 500) {
      const batch = names.slice(i, i + 500);
      const { rows } = await conn.query(`SELECT ${batch.map(() => `GET_LOCK(?, ${LOCK_WAIT_SECONDS})`).join(', ')}`, batch);
      if (!(rows[0] ?? []).every((v) => cellText(v) === '1')) {
        throw new MidairError('TIMEOUT', `waited more than ${LOCK_WAIT_SECONDS} s for a key lock held by another writer`);
      }
    }
  }

  /** Per table: whether it has a unique key besides the primary key (then ON DUPLICATE KEY UPDATE is unsafe). */
  readonly #otherUniqueKeys = new Map<string, Promise<boolean>>();

  /**
   * One multi-row `INSERT … ON DUPLICATE KEY UPDATE` per batch — only for a
   * table whose sole unique key is its primary key: with another unique key, a
   * clash there would silently update that other row (decision 0001), and the
   * caller falls back to inserting and updating separately.
   */
  override async bulkUpsert(conn: SqlConnection, table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<boolean> {
    let known = this.#otherUniqueKeys.get(table);
    if (!known) {
      const bare = table.split('.').map((p) => p.replace(/^`|`$/g, '').replace(/``/g, '`'));
      const [schema, name] = bare.length === 2 ? bare : [undefined, bare[0]];
      known = conn
        .query(
          `SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0 AND INDEX_NAME <> 'PRIMARY'`,
          [schema ?? null, name],
        )
        .then((r) => Number(cellText(r.rows[0]?.[0]) ?? '0') > 0);
      known.catch(() => this.#otherUniqueKeys.delete(table)); // ask again next time
      this.#otherUniqueKeys.set(table, known);
    }
    if (await known) return false;
    const perRow = Math.max(1, Math.floor(this.maxParams / Math.max(1, columns.length)));
    for (let i = 0; i < rows.length; i += perRow) {
      const batch = rows.slice(i, i + perRow);
      await conn.query(this.upsert(table, columns, keyColumns, batch.map((r) => r.map(() => '?'))), batch.flat());
    }
    return true;
  }

  deletedAtColumn(): string {
    return 'TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)';
  }

  async introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined> {
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
    return { columns, primaryKey: pk.rows.map((r) => cellText(r[0]) ?? ''), uniques: [...uniques].map(([name, cols]) => ({ name, columns: cols })) };
  }

  /**
   * Canonical text in SQL. JSON is left to JS: MariaDB keeps JSON as the text
   * it was given and has no function that orders object keys.
   */
  override canonicalExpr(kind: HashKind, c: string): string | undefined {
    const epochMicros = `CAST(UNIX_TIMESTAMP(${c}) * 1000000 AS SIGNED)`;
    switch (kind) {
      case 'integer':
        return `CONCAT('n', ${c})`;
      case 'decimal': {
        const t = `CAST(${c} AS CHAR)`;
        return `CONCAT('s', IF(INSTR(${t}, '.') > 0, TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${t})), ${t}))`;
      }
      case 'text':
        return `CONCAT('s', CONVERT(${c} USING utf8mb4))`;
      case 'uuid':
        // Lowered as the codec lowers a UUID; anything else is marked, so it can only match row by row.
        return `IF(${c} REGEXP '^[0-9A-Fa-f-]*$', CONCAT('s', LOWER(CONVERT(${c} USING utf8mb4))), CONCAT('?', ${c}))`;
      case 'boolean':
        // Only what the codec reads as a boolean; any other number is marked (the codec cannot read it).
        return `CASE WHEN ${c} = 1 THEN 'bt' WHEN ${c} = 0 THEN 'bf' WHEN ${c} IS NOT NULL THEN CONCAT('?', ${c}) END`;
      case 'instant-ms':
        return `CONCAT('d', FLOOR(UNIX_TIMESTAMP(${c}) * 1000))`;
      case 'instant-us':
        // From epoch microseconds (as the codec reads it), so the session's time zone plays no part.
        return `CONCAT('s', DATE_FORMAT(DATE_ADD('1970-01-01 00:00:00', INTERVAL ${epochMicros} MICROSECOND), '%Y-%m-%dT%H:%i:%s.%fZ'))`;
      case 'wall':
        return `CONCAT('s', DATE_FORMAT(${c}, '%Y-%m-%dT%H:%i:%s.%f'))`;
      case 'date':
        return `CONCAT('s', DATE_FORMAT(${c}, '%Y-%m-%d'))`;
      case 'bytes':
        return `CONCAT('x', LOWER(HEX(${c})))`;
      case 'json':
        return undefined;
    }
  }

  override rowHash(parts: readonly { readonly name: string; readonly value: string }[]): string {
    const framedParts = parts.map((p) => `COALESCE(CONCAT(${p.name}, LENGTH(${p.value}), ':', ${p.value}), '')`);
    return `CAST(CONV(SUBSTRING(MD5(${framedParts.length > 0 ? `CONCAT(${framedParts.join(', ')})` : "''"}), 1, 15), 16, 10) AS UNSIGNED)`;
  }

  classifyError(err: unknown): ClassifiedError {
    const f = errorFields(err);
    const details = { driverCode: f.code ?? (f.errno === undefined ? undefined : String(f.errno)) };
    switch (f.errno) {
      case 1062:
        return { code: 'UNIQUE_VIOLATION', details };
      case 1213:
        return { code: 'DEADLOCK', details };
      case 1205:
      case 3024:
      case 1969:
        return { code: 'TIMEOUT', details };
      case 1146:
        return { code: 'SCHEMA_MISMATCH', details: { ...details, table: missingTableName(f.message) } };
      case 1054:
        return { code: 'SCHEMA_MISMATCH', details };
      case 1048:
      case 1451:
      case 1452:
      case 3819:
      case 4025:
        return { code: 'CONSTRAINT', details };
      case 1264:
      case 1265:
      case 1292:
      case 1366:
      case 1406:
        return { code: 'INVALID_VALUE', details };
      default:
        break;
    }
    if (SOCKET_ERROR_CODES.has(f.code ?? '') || f.errno === 2013 || f.errno === 2006) return { code: 'CONNECTION', details };
    return { code: 'UNKNOWN', details };
  }
}
