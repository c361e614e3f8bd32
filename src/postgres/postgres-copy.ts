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
  if (!conn.copyIn) return false;
  const cols = columns.join(', ');
  const text = rows.map((r) => `${r.map(copyText).join('\t')}\n`).join('');
  if (fresh) {
    await conn.copyIn(`COPY ${table} (${cols}) FROM STDIN`, text);
    return true;
  }
  const stage = `"midair_stage_${createHash('md5').update(`${table}(${cols})`).digest('hex').slice(0, 16)}"`;
  await conn.query(`CREATE TEMP TABLE IF NOT EXISTS ${stage} AS SELECT ${cols} FROM ${table} WITH NO DATA`);
  await conn.query(`TRUNCATE ${stage}`);
  await conn.copyIn(`COPY ${stage} (${cols}) FROM STDIN`, text);
  const updates = columns.filter((c) => !keyColumns.includes(c)).map((c) => `${c} = EXCLUDED.${c}`);
  const action = updates.length > 0 ? `DO UPDATE SET ${updates.join(', ')}` : 'DO NOTHING';
  await conn.query(`INSERT INTO ${table} (${cols}) SELECT ${cols} FROM ${stage} ON CONFLICT (${keyColumns.join(', ')}) ${action}`);
  return true;
}
