import { SOCKET_ERROR_CODES, SqlDialect, cellText, errorFields, missingTableName, type ClassifiedError, type ColumnInfo, type TableInfo } from '../sql/sql-dialect.js';
import type { SqlConnection } from '../sql/sql-driver.js';
import type { ColumnFamily } from '../mapping/codecs.js';
import { lockId64 } from '../sql/lock-ids.js';
import { binaryCopyUpsert, binaryTuples, copyUpsert } from './postgres-copy.js';
import type { HashKind } from '../verify/canonical.js';

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

/** PostgreSQL's spelling of SQL, its catalog and its error codes. */
export class PostgresDialect extends SqlDialect {
  readonly name = 'postgres' as const;
  override readonly maxParams = 65_000;
  override readonly arrayParams = true;

  quoteId(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  placeholder(index: number): string {
    return `$${index}`;
  }

  upsert(table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly string[])[]): string {
    const values = rows.map((r) => `(${r.join(', ')})`).join(', ');
    const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
    const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
    return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values} ON CONFLICT (${keyColumns.join(', ')}) ${action}`;
  }

  /**
   * Transaction-scoped advisory locks on each key's 64-bit hash, taken in
   * sorted order. A row lock cannot hold a key that does not exist yet; an
   * advisory lock can.
   */
  async lockKeys(conn: SqlConnection, namespace: string, keyIds: readonly string[]): Promise<void> {
    if (keyIds.length === 0) return;
    const ids = [...new Set(keyIds.map((id) => lockId64(namespace, id)))].sort();
    await conn.query('SELECT count(pg_advisory_xact_lock(x)) FROM unnest($1::int8[]) AS u(x)', [ids]);
  }

  /** COPY into a staging table, then one merge (see postgres-copy.ts). */
  override binaryTuples(data: Buffer, keyField: number): readonly { readonly key: string; readonly tuple: Buffer }[] {
    return binaryTuples(data, keyField);
  }

  override bulkUpsertBinary(conn: SqlConnection, table: string, columns: readonly string[], keyColumns: readonly string[], tuples: readonly Buffer[], fresh: boolean): Promise<boolean> {
    return binaryCopyUpsert(conn, table, columns, keyColumns, tuples, fresh);
  }

  override bulkUpsert(conn: SqlConnection, table: string, columns: readonly string[], keyColumns: readonly string[], rows: readonly (readonly unknown[])[], fresh?: boolean): Promise<boolean> {
    return copyUpsert(conn, table, columns, keyColumns, rows, fresh);
  }

  deletedAtColumn(): string {
    return 'timestamptz NOT NULL DEFAULT now()';
  }

  async introspect(conn: SqlConnection, table: string, schema: string | undefined): Promise<TableInfo | undefined> {
    const qualified = this.qualify(table, schema);
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
      const [name, type, typname, notnull, hasDefault, typmod, pkPos, collation, nondeterministic] = r.map((v) => cellText(v) ?? '');
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
    return { columns, primaryKey: pk.sort((a, b) => a.pos - b.pos).map((p) => p.name), uniques: [...uniques].map(([name, cols]) => ({ name, columns: cols })) };
  }

  override canonicalExpr(kind: HashKind, c: string): string | undefined {
    switch (kind) {
      case 'integer':
        return `'n' || ${c}::text`;
      case 'decimal':
        return `'s' || trim_scale(${c})::text`;
      case 'text':
        // concat() prints a char(n) with its padding, as the driver hands it to the codec (a cast to text would drop it);
        // it also turns NULL into '', so NULL is kept apart first.
        return `CASE WHEN ${c} IS NOT NULL THEN concat('s', ${c}) END`;
      case 'uuid':
        // Lowered as the codec lowers a UUID; anything else is marked, so it can only match row by row.
        return `CASE WHEN ${c}::text ~ '^[0-9A-Fa-f-]*$' THEN 's' || lower(${c}::text) ELSE '?' || ${c}::text END`;
      case 'boolean':
        return `CASE WHEN ${c} THEN 'bt' WHEN NOT ${c} THEN 'bf' END`;
      case 'instant-ms':
        // Floored to the millisecond first, then float8 seconds (far cheaper than extract()'s numeric): k/1000
        // is within far less than half a millisecond of its double, so rounding back gives k exactly.
        return `'d' || (date_part('epoch', date_trunc('milliseconds', ${c})) * 1000)::bigint::text`;
      // to_char() has no era: a BC value is marked instead, so it cannot pass for its AD twin (the codec cannot read it anyway).
      case 'instant-us':
        return `CASE WHEN ${c} < '0001-01-01T00:00:00Z'::timestamptz THEN '?' || ${c}::text ELSE 's' || to_char(${c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END`;
      case 'wall':
        return `CASE WHEN ${c} < '0001-01-01'::timestamp THEN '?' || ${c}::text ELSE 's' || to_char(${c}, 'YYYY-MM-DD"T"HH24:MI:SS.US') END`;
      case 'date':
        return `CASE WHEN ${c} < '0001-01-01'::date THEN '?' || ${c}::text ELSE 's' || to_char(${c}, 'YYYY-MM-DD') END`;
      case 'bytes':
        return `'x' || encode(${c}, 'hex')`;
      case 'json': {
        // jsonb prints objects the way canonicalJson() does, numbers as exact decimals; a top-level scalar is the JS
        // value it decodes to, and JSON null is 'jnull'. jsonb keeps a number's scale (1.50, where JS writes 1.5): such
        // rows hash apart and rows decide (trimming every number in SQL cost 5-10x the hash). jsonb has no -0: a json or
        // text column whose text may hold one is marked (a string like "x-0" trips it too, at the cost of a row compare).
        const j = `(${c})::jsonb`;
        const negativeZero = `pg_typeof(${c}) <> 'jsonb'::regtype AND strpos(${c}::text, '-0') > 0 AND ${c}::text ~ '(^|[^0-9.eE])-0(\\.0+)?([eE][-+]?[0-9]+)?($|[^0-9.eE])'`;
        return `CASE WHEN ${negativeZero} THEN '?' || ${c}::text ELSE CASE jsonb_typeof(${j}) WHEN 'object' THEN 'j' || ${j}::text WHEN 'array' THEN 'j' || ${j}::text WHEN 'number' THEN 'n' || trim_scale(${j}::numeric)::text WHEN 'string' THEN 's' || (${j} #>> '{}') WHEN 'boolean' THEN CASE WHEN ${j} = 'true'::jsonb THEN 'bt' ELSE 'bf' END WHEN 'null' THEN 'jnull' END END`;
      }
    }
  }

  override rowHash(parts: readonly { readonly name: string; readonly value: string }[]): string {
    const framedParts = parts.map((p) => `coalesce(${p.name}::text || octet_length(${p.value})::text || ':' || ${p.value}, '')`);
    return `('x' || substr(md5(${framedParts.length > 0 ? framedParts.join(' || ') : "''"}), 1, 15))::bit(60)::bigint`;
  }

  classifyError(err: unknown): ClassifiedError {
    const f = errorFields(err);
    const details = { driverCode: f.code, constraint: f.constraint, table: f.table, column: f.column };
    const code = f.code ?? '';
    if (code === '23505') return { code: 'UNIQUE_VIOLATION', details };
    if (code.startsWith('23')) return { code: 'CONSTRAINT', details };
    if (code === '40P01' || code === '40001') return { code: 'DEADLOCK', details };
    if (code === '57014' || code === '55P03') return { code: 'TIMEOUT', details };
    if (code === '42P01' || code === '42703' || code === '42704') return { code: 'SCHEMA_MISMATCH', details: { ...details, table: f.table ?? missingTableName(f.message) } };
    if (code.startsWith('22')) return { code: 'INVALID_VALUE', details };
    if (code.startsWith('08') || code === '57P01' || SOCKET_ERROR_CODES.has(code) || /Connection terminated/i.test(f.message)) {
      return { code: 'CONNECTION', details };
    }
    return { code: 'UNKNOWN', details };
  }
}
