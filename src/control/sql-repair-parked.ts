import type { RepairProblem, RepairQueue } from './repair-queue.js';
import { decodeParked, num, text } from './sql-control-rows.js';
import { repairToken } from './repair-token.js';
import { deleteParked, PARKED_COLUMNS, readParked, upsertPending, type RepairSql } from './sql-repair-context.js';

/** Counting pending entries and parking one that failed for good. */
export function parkMethods(q: RepairSql): Pick<RepairQueue, 'repairDepth' | 'parkRepair'> {
  const { x, repairs, repairKey, lockRow } = q;
  const { t, c, ph, tuple, schema } = x;
  return {
    async repairDepth(migration, direction, options) {
      const params: unknown[] = direction === undefined ? [migration] : [migration, direction];
      const where = direction === undefined ? `${c.migration} = ${ph(1)}` : repairKey;
      const excluded = [...new Set(options?.excludeReasons ?? [])];
      const not = excluded.length === 0 ? '' : ` AND ${c.reason} NOT IN ${tuple(params.length, excluded.length)}`;
      const { rows } = await x.query('repairDepth', `SELECT COUNT(*) FROM ${t.repairs} WHERE ${where}${not}`, [
        ...params,
        ...excluded,
      ]);
      return rows[0] ? num(rows[0], 0, repairs, 'count') : 0;
    },

    async parkRepair(migration, direction, keyId, seq, problem: RepairProblem) {
      x.checkDirection('parkRepair', direction);
      for (const [field, value] of [
        ['code', problem.code],
        ['store', problem.store],
        ['message', problem.message],
      ] as const) {
        if (typeof value !== 'string') throw x.invalid('parkRepair', `problem.${field} must be a string`);
      }
      return x.transaction('parkRepair', async (conn) => {
        const where = `${repairKey} AND ${c.key_id} = ${ph(3)} AND ${c.seq} = ${ph(4)}`;
        const { rows } = await conn.query(
          `SELECT ${c.reason}, ${c.attempts} FROM ${t.repairs} WHERE ${where}${lockRow}`,
          [migration, direction, keyId, seq],
        );
        const row = rows[0];
        if (!row) return false;
        await conn.query(`DELETE FROM ${t.repairs} WHERE ${where}`, [migration, direction, keyId, seq]);
        const params = [
          migration,
          direction,
          keyId,
          text(row, 0, repairs, 'reason'),
          num(row, 1, repairs, 'attempts'),
          x.now(),
          problem.code,
          problem.store,
          problem.constraint ?? null,
          problem.message,
        ];
        const sql = schema.upsert(
          'parked',
          PARKED_COLUMNS,
          ['migration', 'direction', 'key_id'],
          [tuple(0, params.length)],
          (_cur, inc) => PARKED_COLUMNS.slice(3).map((col) => `${c[col]} = ${inc(col)}`),
        );
        await conn.query(sql, params);
        return true;
      });
    },
  };
}

/** Reading parked entries, and retrying or resolving them. */
export function parkedMethods(
  q: RepairSql,
): Pick<RepairQueue, 'parkedRepairs' | 'parkedCount' | 'retryParked' | 'resolveParked'> {
  const { x } = q;
  const { t, c, ph, cols, prefix } = x;
  return {
    async parkedRepairs(migration, options) {
      const limit = options?.limit;
      if (limit !== undefined) x.checkLimit('parkedRepairs', limit);
      const sql = `SELECT ${cols(PARKED_COLUMNS)} FROM ${t.parked} WHERE ${c.migration} = ${ph(1)} ORDER BY ${c.parked_at}, ${c.key_id}, ${c.direction}${limit === undefined ? '' : ` LIMIT ${ph(2)}`}`;
      const { rows } = await x.query('parkedRepairs', sql, limit === undefined ? [migration] : [migration, limit]);
      return rows.map((r) => decodeParked(r, prefix + 'parked'));
    },

    async parkedCount(migration) {
      const { rows } = await x.query(
        'parkedCount',
        `SELECT COUNT(*) FROM ${t.parked} WHERE ${c.migration} = ${ph(1)}`,
        [migration],
      );
      return rows[0] ? num(rows[0], 0, prefix + 'parked', 'count') : 0;
    },

    async retryParked(migration, keyIds) {
      if (keyIds !== undefined && keyIds.length === 0) return 0;
      return x.transaction('retryParked', async (conn) => {
        const parked = await readParked(q, conn, migration, keyIds, true);
        if (parked.length === 0) return 0;
        const now = x.now();
        for (const direction of new Set(parked.map((p) => p.direction))) {
          // Due at once, with a fresh count of attempts: the operator asked for another round.
          const rows = parked
            .filter((p) => p.direction === direction)
            .map((p) => ({ keyId: p.keyId, seq: repairToken(), reason: p.reason, due: now, attempts: 0 }));
          await upsertPending(q, conn, migration, direction, rows, true);
          await deleteParked(
            q,
            conn,
            migration,
            rows.map((r) => r.keyId),
            direction,
          );
        }
        return parked.length;
      });
    },

    async resolveParked(migration, keyIds) {
      if (keyIds.length === 0) return 0;
      return x.transaction('resolveParked', async (conn) => deleteParked(q, conn, migration, keyIds));
    },
  };
}
