import { chunked } from '../core/collections.js';
import type { DeadLetters } from './dead-letters.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeDeadLetter, num } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';

/** The dead letters over SQL: one row per key in `dead_letters`, its attempts counted by upsert. */
export function sqlDeadLetters(x: SqlControlContext): DeadLetters {
  const {
    prefix,
    schema,
    t,
    c,
    ph,
    placeholders,
    tuple,
    batchRows,
    query,
    transaction,
    fits,
    checkMigration,
    now: clock,
  } = x;
  return {
    async addDeadLetters(migration, entries) {
      checkMigration('addDeadLetters', migration);
      const byKey = new Map<string, string>();
      for (const e of entries) {
        fits('addDeadLetters', 'a key id', e.keyId, MYSQL_KEY_LIMITS.keyId);
        byKey.set(e.keyId, e.reason);
      }
      if (byKey.size === 0) return;
      const now = clock();
      await transaction('addDeadLetters', async (conn) => {
        for (const batch of chunked([...byKey.keys()].sort(), batchRows)) {
          const params: unknown[] = [];
          const rows = batch.map((keyId, i) => {
            params.push(migration, keyId, byKey.get(keyId) ?? '', now);
            return `(${placeholders(i * 4, 4)}, 1)`; // attempts
          });
          const sql = schema.upsert(
            'dead_letters',
            ['migration', 'key_id', 'reason', 'at', 'attempts'],
            ['migration', 'key_id'],
            rows,
            (cur, inc) => [`${c.reason} = ${inc('reason')}`, `${c.attempts} = ${cur('attempts')} + 1`],
          );
          await conn.query(sql, params);
        }
      });
    },

    async deadLetters(migration, limit) {
      x.checkLimit('deadLetters', limit);
      const sql = `SELECT ${c.key_id}, ${c.reason}, ${c.at}, ${c.attempts} FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)} ORDER BY ${c.at}, ${c.key_id} LIMIT ${ph(2)}`;
      const { rows } = await query('deadLetters', sql, [migration, limit]);
      return rows.map((r) => decodeDeadLetter(r, prefix + 'dead_letters'));
    },

    async removeDeadLetters(migration, keyIds) {
      let removed = 0;
      for (const batch of chunked([...new Set(keyIds)], batchRows)) {
        const sql = `DELETE FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)} AND ${c.key_id} IN ${tuple(1, batch.length)}`;
        removed += (await query('removeDeadLetters', sql, [migration, ...batch])).affected;
      }
      return removed;
    },

    async deadLetterCount(migration) {
      const { rows } = await query(
        'deadLetterCount',
        `SELECT COUNT(*) FROM ${t.dead_letters} WHERE ${c.migration} = ${ph(1)}`,
        [migration],
      );
      return rows[0] ? num(rows[0], 0, prefix + 'dead_letters', 'count') : 0;
    },
  };
}
