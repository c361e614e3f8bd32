import { wrapsReads, wrapsWrites } from '../mapping/codecs.js';
import { cellText } from '../sql/sql-catalog.js';
import type { PairHashSql } from '../sql/sql-hash.js';

/** Type ids below this are PostgreSQL's own (FirstNormalObjectId): the same on every server, so they may go into a hash. */
const FIRST_USER_OID = 16384;

/** `hash_record_extended` came in PostgreSQL 14. */
const MIN_VERSION = 140000;

/**
 * PostgreSQL's pair hash (docs/decisions/0018): the row's binary send form,
 * `record_send(ROW(…))` — every column's type id, byte length (-1 for NULL)
 * and value as the binary protocol writes it, whatever the session's
 * settings — hashed to 64 bits by `hash_record_extended` over that one bytea
 * (PostgreSQL's `hash_bytes_extended`, seeded). Two rows hash alike only if
 * their bytes are equal (or the hash collides), and equal bytes decode to
 * equal entities through equal codecs.
 */
export const postgresPairHashSql: PairHashSql = {
  async shape(query, fields) {
    if (
      fields.some(
        (f) =>
          f.codec.type.startsWith('custom:') || wrapsReads(f.codec, 'postgres') || wrapsWrites(f.codec, 'postgres'),
      )
    )
      return undefined;
    const tables = [...new Set(fields.map((f) => f.table))];
    const rows = await query(
      `SELECT r.name, a.attname, a.atttypid::int8, format_type(a.atttypid, a.atttypmod), current_setting('server_version_num')::int
         FROM unnest($1::text[]) AS r(name)
         JOIN pg_attribute a ON a.attrelid = to_regclass(r.name) AND a.attnum > 0 AND NOT a.attisdropped`,
      [tables],
    );
    const columns = new Map<string, { oid: number; type: string }>();
    let version = 0;
    for (const row of rows) {
      const [table, column, oid, type, server] = row.map((v) => cellText(v) ?? '');
      columns.set(`${table ?? ''}\u0000${column ?? ''}`, { oid: Number(oid), type: type ?? '' });
      version = Number(server);
    }
    if (version < MIN_VERSION) return undefined;
    const parts: string[] = [];
    for (const f of fields) {
      const c = columns.get(`${f.table}\u0000${f.column}`);
      // A type of the database's own has an id another database gives another type: the bytes would never match.
      if (!c || !(c.oid > 0 && c.oid < FIRST_USER_OID)) return undefined;
      parts.push(`${f.field}=${f.codec.type}/${f.codec.hashAs ?? ''}:${c.oid}:${c.type}`);
    }
    return `postgres/record_send;${parts.join(';')}`;
  },

  rowHash(columns, seed) {
    return `hash_record_extended(ROW(record_send(ROW(${columns.join(', ')}))), ${seed}::int8)`;
  },
};
