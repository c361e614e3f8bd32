import { createHash } from 'node:crypto';
import type { SqlConnection } from '../sql/sql-driver.js';

/**
 * COPY's text format for one value: `\N` for NULL; backslash, tab, newline
 * and carriage return escaped; bytes as bytea hex (`\\x…`, its backslash
 * escaped in turn).
 */
export function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `\\\\x${Buffer.from(value).toString('hex')}`;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/**
 * Upserts many rows in two statements: COPY into a temporary staging table
 * shaped like the target (emptied first, dropped with the session), then one
 * `INSERT … SELECT … ON CONFLICT … DO UPDATE`. Runs inside the caller's
 * transaction, so the caller's key locks hold throughout. `fresh` rows (the
 * caller read, under those locks, that none of their keys exists) are copied
 * straight into the table: a first backfill skips the staging and the merge.
 */
export async function copyUpsert(
  conn: SqlConnection,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  rows: readonly (readonly unknown[])[],
  fresh = false,
): Promise<boolean> {
  if (!hasCopy(conn)) return false;
  const cols = columns.join(', ');
  const text = rows.map((r) => `${r.map(copyText).join('\t')}\n`).join('');
  if (fresh) {
    await conn.copyIn(`COPY ${table} (${cols}) FROM STDIN`, text);
    return true;
  }
  await viaStage(conn, table, columns, keyColumns, (stage) => `COPY ${stage} (${cols}) FROM STDIN`, text);
  return true;
}

/** COPY into a temporary staging table shaped like the target (emptied first, dropped with the session), then one merge. */
async function viaStage(
  conn: SqlConnection & Required<Pick<SqlConnection, 'copyIn'>>,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  copy: (stage: string) => string,
  data: string | Buffer,
): Promise<void> {
  const cols = columns.join(', ');
  const stage = `"midair_stage_${createHash('md5').update(`${table}(${cols})`).digest('hex').slice(0, 16)}"`;
  await conn.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} AS SELECT ${cols} FROM ${table} WITH NO DATA`);
  await conn.query(`TRUNCATE ${stage}`);
  await conn.copyIn(copy(stage), data);
  const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
  await conn.query(
    `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM ${stage} ON CONFLICT (${keyColumns.join(', ')}) ${action}`,
  );
}

const hasCopy = (conn: SqlConnection): conn is SqlConnection & Required<Pick<SqlConnection, 'copyIn'>> =>
  conn.copyIn !== undefined;

/** The binary COPY header: signature, flags, no extension. */
const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** The binary COPY trailer: a tuple of -1 fields. */
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/**
 * The tuples of a binary COPY (`COPY … TO STDOUT (FORMAT binary)`), each as
 * its own bytes, with the text of its field `keyField` (integer columns
 * only: int2, int4 or int8, by its length) — what a copy needs to know which
 * keys it holds without decoding anything else.
 */
export function binaryTuples(data: Buffer, keyField: number): { readonly key: string; readonly tuple: Buffer }[] {
  if (data.length === 0) return [];
  if (data.subarray(0, 11).compare(BINARY_HEADER, 0, 11) !== 0) throw new Error('not a binary COPY stream');
  let at = 11 + 4;
  at += 4 + data.readInt32BE(at); // header extension
  const out: { key: string; tuple: Buffer }[] = [];
  for (;;) {
    const start = at;
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) return out;
    let key = '';
    for (let f = 0; f < fields; f++) {
      const length = data.readInt32BE(at);
      at += 4;
      if (f === keyField) {
        if (length === 8) key = data.readBigInt64BE(at).toString();
        else if (length === 4) key = data.readInt32BE(at).toString();
        else if (length === 2) key = data.readInt16BE(at).toString();
        else throw new Error(`a key field of ${length} bytes is not an integer`);
      }
      if (length > 0) at += length;
    }
    out.push({ key, tuple: data.subarray(start, at) });
  }
}

/**
 * {@link copyUpsert} for tuples read with a binary COPY from a table whose
 * columns have the same types, in the same order: no text is parsed on the
 * way in either.
 */
export async function binaryCopyUpsert(
  conn: SqlConnection,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  tuples: readonly Buffer[],
  fresh: boolean,
): Promise<boolean> {
  if (!hasCopy(conn)) return false;
  const cols = columns.join(', ');
  const data = Buffer.concat([BINARY_HEADER, ...tuples, BINARY_TRAILER]);
  if (fresh) {
    await conn.copyIn(`COPY ${table} (${cols}) FROM STDIN (FORMAT binary)`, data);
    return true;
  }
  await viaStage(
    conn,
    table,
    columns,
    keyColumns,
    (stage) => `COPY ${stage} (${cols}) FROM STDIN (FORMAT binary)`,
    data,
  );
  return true;
}
