import type { SqlConnection } from '../sql/sql-driver.js';
import { chunked } from '../core/collections.js';
import {
  STICKY_REPAIR_REASON,
  type ParkedRepair,
  type RepairDirection,
  type RepairProblem,
  type RepairQueue,
} from './repair-queue.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeParked, decodeRepair, num, text } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';
import { repairToken } from './repair-token.js';

const REPAIR_COLUMNS = [
  'migration',
  'direction',
  'key_id',
  'seq',
  'reason',
  'enqueued_at',
  'attempts',
  'due_at',
  'epoch',
  'owner',
  'leased_until',
] as const;
/** What `decodeRepair` reads. */
const ENTRY_COLUMNS = REPAIR_COLUMNS.slice(0, 9);
const PARKED_COLUMNS = [
  'migration',
  'direction',
  'key_id',
  'reason',
  'attempts',
  'parked_at',
  'problem_code',
  'problem_store',
  'problem_constraint',
  'problem_message',
] as const;

/** Milliseconds as a whole number ≥ 0, or undefined when it is not one. */
const wholeMs = (ms: number | undefined): number | undefined =>
  ms === undefined ? 0 : Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : undefined;

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
  const { t, c, ph, phs, tuple, cols, schema, dialect, prefix } = x;
  const repairs = prefix + 'repairs';
  const repairKey = `${c.migration} = ${ph(1)} AND ${c.direction} = ${ph(2)}`;
  const skipLocked = dialect.name === 'sqlite' ? '' : ' FOR UPDATE SKIP LOCKED';
  const lockRow = dialect.forUpdate;
  /** The smaller of two values (SQLite's two-argument MIN is its LEAST). */
  const least = (a: string, b: string): string => (dialect.name === 'sqlite' ? `MIN(${a}, ${b})` : `LEAST(${a}, ${b})`);
  const greatest = (a: string, b: string): string =>
    dialect.name === 'sqlite' ? `MAX(${a}, ${b})` : `GREATEST(${a}, ${b})`;
  const isolation = dialect.name === 'mysql' ? ({ isolation: 'read committed' } as const) : undefined;

  /** Upserts pending entries; an entry already there keeps its enqueuedAt and the earlier due time, and gets the new seq and reason. */
  const upsertPending = async (
    conn: SqlConnection,
    migration: string,
    direction: RepairDirection,
    rows: readonly {
      keyId: string;
      seq: number;
      reason: string;
      due: number;
      attempts: number;
      epoch?: number | undefined;
    }[],
    resetAttempts: boolean,
  ): Promise<void> => {
    const now = x.now();
    for (const batch of chunked(rows, x.batchRows)) {
      const params: unknown[] = [];
      const values = batch.map((r, i) => {
        params.push(migration, direction, r.keyId, r.seq, r.reason, now, r.attempts, r.due, r.epoch ?? null);
        return `(${phs(i * 9, 9)}, NULL, 0)`; // owner, leased_until
      });
      const sql = schema.upsert('repairs', REPAIR_COLUMNS, ['migration', 'direction', 'key_id'], values, (cur, inc) => [
        `${c.seq} = ${inc('seq')}`,
        // A re-enqueue frees the entry for the next claim at once (a claim holder completing with the old seq no longer matches).
        `${c.owner} = NULL`,
        `${c.leased_until} = 0`,
        `${c.reason} = CASE WHEN ${cur('reason')} = '${STICKY_REPAIR_REASON}' THEN ${cur('reason')} ELSE ${inc('reason')} END`,
        `${c.due_at} = ${least(cur('due_at'), inc('due_at'))}`,
        `${c.epoch} = CASE WHEN ${cur('epoch')} IS NULL THEN ${inc('epoch')} WHEN ${inc('epoch')} IS NULL THEN ${cur('epoch')} ELSE ${greatest(cur('epoch'), inc('epoch'))} END`,
        ...(resetAttempts ? [`${c.attempts} = ${inc('attempts')}`] : []),
      ]);
      await conn.query(sql, params);
    }
  };

  const readParked = async (
    conn: SqlConnection,
    migration: string,
    keyIds: readonly string[] | undefined,
    lock: boolean,
  ): Promise<ParkedRepair[]> => {
    const select = `SELECT ${cols(PARKED_COLUMNS)} FROM ${t.parked} WHERE ${c.migration} = ${ph(1)}`;
    const suffix = lock ? lockRow : '';
    if (keyIds === undefined)
      return (await conn.query(select + suffix, [migration])).rows.map((r) => decodeParked(r, prefix + 'parked'));
    const out: ParkedRepair[] = [];
    for (const batch of chunked([...new Set(keyIds)], x.batchRows)) {
      const { rows } = await conn.query(`${select} AND ${c.key_id} IN ${tuple(1, batch.length)}${suffix}`, [
        migration,
        ...batch,
      ]);
      out.push(...rows.map((r) => decodeParked(r, prefix + 'parked')));
    }
    return out;
  };

  /** Deletes parked keys, in one direction or both. */
  const deleteParked = async (
    conn: SqlConnection,
    migration: string,
    keyIds: readonly string[],
    direction?: RepairDirection,
  ): Promise<number> => {
    let removed = 0;
    const where = direction === undefined ? `${c.migration} = ${ph(1)}` : repairKey;
    const head = direction === undefined ? [migration] : [migration, direction];
    for (const batch of chunked([...new Set(keyIds)], x.batchRows)) {
      const sql = `DELETE FROM ${t.parked} WHERE ${where} AND ${c.key_id} IN ${tuple(head.length, batch.length)}`;
      removed += (await conn.query(sql, [...head, ...batch])).affected;
    }
    return removed;
  };

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
      await x.transaction('enqueueRepairs', async (conn) => upsertPending(conn, migration, direction, rows, false));
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
        const parked = await readParked(conn, migration, keyIds, true);
        if (parked.length === 0) return 0;
        const now = x.now();
        for (const direction of new Set(parked.map((p) => p.direction))) {
          // Due at once, with a fresh count of attempts: the operator asked for another round.
          const rows = parked
            .filter((p) => p.direction === direction)
            .map((p) => ({ keyId: p.keyId, seq: repairToken(), reason: p.reason, due: now, attempts: 0 }));
          await upsertPending(conn, migration, direction, rows, true);
          await deleteParked(
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
      return x.transaction('resolveParked', async (conn) => deleteParked(conn, migration, keyIds));
    },
  };
}
