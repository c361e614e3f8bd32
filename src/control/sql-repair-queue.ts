import { chunked } from '../core/collections.js';
import type { RepairQueue } from './repair-queue.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeRepair, num, text } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';
import { repairToken } from './repair-token.js';
import { ENTRY_COLUMNS, repairSql, upsertPending, wholeMs, type RepairSql } from './sql-repair-context.js';
import { parkedMethods, parkMethods } from './sql-repair-parked.js';

/** Enqueueing and looking at pending entries. */
function pendingMethods(q: RepairSql): Pick<RepairQueue, 'enqueueRepairs' | 'pendingRepairs' | 'peekRepairs'> {
  const { x, repairs, repairKey } = q;
  const { t, c, ph, tuple, cols } = x;
  return {
    async enqueueRepairs(migration, direction, entries) {
      x.checkMigration('enqueueRepairs', migration);
      x.checkDirection('enqueueRepairs', direction);
      // One row per key, with the last reason and the earliest due time; every enqueue gets a fresh token as its seq.
      const byKey = new Map<string, { reason: string; delay: number; epoch?: number | undefined }>();
      for (const e of entries) {
        x.fits('enqueueRepairs', 'a key id', e.keyId, MYSQL_KEY_LIMITS.keyId);
        const delay = wholeMs(e.delayMs);
        if (delay === undefined)
          throw x.invalid('enqueueRepairs', 'delayMs must be a non-negative number of milliseconds');
        if (e.epoch !== undefined && !(Number.isSafeInteger(e.epoch) && e.epoch >= 0))
          throw x.invalid('enqueueRepairs', 'epoch must be a non-negative integer');
        const before = byKey.get(e.keyId);
        const epoch =
          before?.epoch === undefined
            ? e.epoch
            : e.epoch === undefined
              ? before.epoch
              : Math.max(before.epoch, e.epoch);
        byKey.set(e.keyId, { reason: e.reason, delay: Math.min(delay, before?.delay ?? Infinity), epoch });
      }
      if (byKey.size === 0) return [];
      const now = x.now();
      // Sorted, so concurrent enqueues lock keys in one order.
      const rows = [...byKey.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([keyId, e]) => ({
          keyId,
          seq: repairToken(),
          reason: e.reason,
          due: now + e.delay,
          attempts: 0,
          epoch: e.epoch,
        }));
      // One statement holds them all (a write's intent, say): it commits by itself, without a transaction around it.
      if (rows.length <= x.batchRows) {
        const own = {
          query: async (sql: string, params?: readonly unknown[]) => x.statement('enqueueRepairs', sql, params ?? []),
        };
        await upsertPending(q, own, migration, direction, rows, false);
      } else {
        await x.transaction('enqueueRepairs', async (conn) =>
          upsertPending(q, conn, migration, direction, rows, false),
        );
      }
      const seqs = new Map(rows.map((r) => [r.keyId, r.seq]));
      return entries.map((e) => seqs.get(e.keyId) ?? 0);
    },

    async pendingRepairs(migration, direction, keyIds) {
      const found = new Set<string>();
      for (const batch of chunked([...new Set(keyIds)], x.batchRows)) {
        const sql = `SELECT ${c.key_id} FROM ${t.repairs} WHERE ${repairKey} AND ${c.key_id} IN ${tuple(2, batch.length)}`;
        const { rows } = await x.query('pendingRepairs', sql, [migration, direction, ...batch]);
        for (const r of rows) found.add(text(r, 0, repairs, 'key_id'));
      }
      return found;
    },

    async peekRepairs(migration, direction, limit) {
      x.checkLimit('peekRepairs', limit);
      const sql = `SELECT ${cols(ENTRY_COLUMNS)} FROM ${t.repairs} WHERE ${repairKey} ORDER BY ${c.enqueued_at}, ${c.key_id} LIMIT ${ph(3)}`;
      const { rows } = await x.query('peekRepairs', sql, [migration, direction, limit]);
      const now = x.now();
      return rows.map((r) => decodeRepair(r, repairs, now));
    },
  };
}

/** Claiming pending entries and settling claimed ones. */
function claimMethods(q: RepairSql): Pick<RepairQueue, 'claimRepairs' | 'completeRepair' | 'failRepair'> {
  const { x, repairs, repairKey, skipLocked, isolation } = q;
  const { t, c, ph, tuple, cols } = x;
  return {
    async claimRepairs(migration, direction, options) {
      x.checkDirection('claimRepairs', direction);
      x.checkLimit('claimRepairs', options.limit);
      if (typeof options.owner !== 'string' || options.owner === '')
        throw x.invalid('claimRepairs', 'owner must be a non-empty string');
      const lease = wholeMs(options.leaseMs);
      if (lease === undefined || lease === 0)
        throw x.invalid('claimRepairs', 'leaseMs must be a positive number of milliseconds');
      if (options.limit === 0) return [];
      return x.transaction(
        'claimRepairs',
        async (conn) => {
          const now = x.now();
          // Claimable: due (unless the drain takes all), and free, this owner's, or leased until before now (as ranges are);
          // a take-over (the cutover drain) ignores others' claims.
          const params: unknown[] = [migration, direction];
          const next = (value: unknown): string => {
            params.push(value);
            return ph(params.length);
          };
          const due = options.includeDelayed ? '' : ` AND ${c.due_at} <= ${next(now)}`;
          const free = options.takeOver ? '' : ` AND (${c.owner} IS NULL OR ${c.leased_until} < ${next(now)})`;
          const sql = `SELECT ${cols(ENTRY_COLUMNS)} FROM ${t.repairs} WHERE ${repairKey}${due}${free} ORDER BY ${c.enqueued_at}, ${c.key_id} LIMIT ${next(options.limit)}${skipLocked}`;
          const { rows } = await conn.query(sql, params);
          const entries = rows.map((r) => decodeRepair(r, repairs, now));
          for (const batch of chunked(entries, x.batchRows)) {
            const update = `UPDATE ${t.repairs} SET ${c.owner} = ${ph(1)}, ${c.leased_until} = ${ph(2)} WHERE ${c.migration} = ${ph(3)} AND ${c.direction} = ${ph(4)} AND ${c.key_id} IN ${tuple(4, batch.length)}`;
            await conn.query(update, [options.owner, now + lease, migration, direction, ...batch.map((e) => e.keyId)]);
          }
          return entries;
        },
        isolation,
      );
    },

    async completeRepair(migration, direction, keyId, seq) {
      const sql = `DELETE FROM ${t.repairs} WHERE ${repairKey} AND ${c.key_id} = ${ph(3)} AND ${c.seq} = ${ph(4)}`;
      const { affected } = await x.query('completeRepair', sql, [migration, direction, keyId, seq]);
      return affected > 0;
    },

    async failRepair(migration, direction, keyId, seq) {
      return x.transaction('failRepair', async (conn) => {
        const update =
          `UPDATE ${t.repairs} SET ${c.attempts} = ${c.attempts} + 1, ${c.owner} = NULL, ${c.leased_until} = 0 ` +
          `WHERE ${repairKey} AND ${c.key_id} = ${ph(3)} AND ${c.seq} = ${ph(4)}`;
        await conn.query(update, [migration, direction, keyId, seq]);
        const { rows } = await conn.query(
          `SELECT ${c.attempts} FROM ${t.repairs} WHERE ${repairKey} AND ${c.key_id} = ${ph(3)}`,
          [migration, direction, keyId],
        );
        return rows[0] ? num(rows[0], 0, repairs, 'attempts') : 0;
      });
    },
  };
}

/**
 * The durable repair queue over SQL: pending entries in `repairs` (each with
 * a due time and an optional claim — an owner and a lease end), entries that
 * failed for good in `parked`. Claims take rows with `FOR UPDATE SKIP
 * LOCKED` (PostgreSQL, MySQL 8, MariaDB 10.6): concurrent claimers lock
 * disjoint rows and skip each other's. SQLite has one writer at a time
 * (`BEGIN IMMEDIATE`), so its claims are serial anyway. Every time compared
 * or stored comes from the context's clock, never the database's.
 */
export function sqlRepairQueue(x: SqlControlContext): RepairQueue {
  const q = repairSql(x);
  return { ...pendingMethods(q), ...claimMethods(q), ...parkMethods(q), ...parkedMethods(q) };
}
