import type { SqlConnection, TransactionOptions } from '../sql/sql-driver.js';
import { chunked } from '../core/collections.js';
import { STICKY_REPAIR_REASON, type ParkedRepair, type RepairDirection } from './repair-queue.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeParked } from './sql-control-rows.js';

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
export const ENTRY_COLUMNS = REPAIR_COLUMNS.slice(0, 9);
export const PARKED_COLUMNS = [
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
export const wholeMs = (ms: number | undefined): number | undefined =>
  ms === undefined ? 0 : Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : undefined;

/** What the repair queue's statements share: the context and the SQL built from it once. */
export interface RepairSql {
  readonly x: SqlControlContext;
  readonly repairs: string;
  readonly repairKey: string;
  readonly skipLocked: string;
  readonly lockRow: string;
  /** The smaller of two values (SQLite's two-argument MIN is its LEAST). */
  readonly least: (a: string, b: string) => string;
  readonly greatest: (a: string, b: string) => string;
  readonly isolation: TransactionOptions | undefined;
}

export function repairSql(x: SqlControlContext): RepairSql {
  const { c, ph, dialect, prefix } = x;
  const repairs = prefix + 'repairs';
  const repairKey = `${c.migration} = ${ph(1)} AND ${c.direction} = ${ph(2)}`;
  const skipLocked = dialect.name === 'sqlite' ? '' : ' FOR UPDATE SKIP LOCKED';
  const lockRow = dialect.forUpdate;
  /** The smaller of two values (SQLite's two-argument MIN is its LEAST). */
  const least = (a: string, b: string): string => (dialect.name === 'sqlite' ? `MIN(${a}, ${b})` : `LEAST(${a}, ${b})`);
  const greatest = (a: string, b: string): string =>
    dialect.name === 'sqlite' ? `MAX(${a}, ${b})` : `GREATEST(${a}, ${b})`;
  const isolation = dialect.name === 'mysql' ? ({ isolation: 'read committed' } as const) : undefined;
  return { x, repairs, repairKey, skipLocked, lockRow, least, greatest, isolation };
}

/** Upserts pending entries; an entry already there keeps its enqueuedAt and the earlier due time, and gets the new seq and reason. */
export async function upsertPending(
  q: RepairSql,
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
): Promise<void> {
  const { x, least, greatest } = q;
  const { c, placeholders, schema } = x;
  const now = x.now();
  for (const batch of chunked(rows, x.batchRows)) {
    const params: unknown[] = [];
    const values = batch.map((r, i) => {
      params.push(migration, direction, r.keyId, r.seq, r.reason, now, r.attempts, r.due, r.epoch ?? null);
      return `(${placeholders(i * 9, 9)}, NULL, 0)`; // owner, leased_until
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
}

export async function readParked(
  q: RepairSql,
  conn: SqlConnection,
  migration: string,
  keyIds: readonly string[] | undefined,
  lock: boolean,
): Promise<ParkedRepair[]> {
  const { x, lockRow } = q;
  const { t, c, ph, tuple, cols, prefix } = x;
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
}

/** Deletes parked keys, in one direction or both. */
export async function deleteParked(
  q: RepairSql,
  conn: SqlConnection,
  migration: string,
  keyIds: readonly string[],
  direction?: RepairDirection,
): Promise<number> {
  const { x, repairKey } = q;
  const { t, c, ph, tuple } = x;
  let removed = 0;
  const where = direction === undefined ? `${c.migration} = ${ph(1)}` : repairKey;
  const head = direction === undefined ? [migration] : [migration, direction];
  for (const batch of chunked([...new Set(keyIds)], x.batchRows)) {
    const sql = `DELETE FROM ${t.parked} WHERE ${where} AND ${c.key_id} IN ${tuple(head.length, batch.length)}`;
    removed += (await conn.query(sql, [...head, ...batch])).affected;
  }
  return removed;
}
