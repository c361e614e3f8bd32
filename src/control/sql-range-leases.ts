import { chunked } from '../core/collections.js';
import { rangesClaimName } from './checkpoints.js';
import { nextToken, type RangeLease, type RangeLeases } from './range-leases.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeRange, num } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';

const RANGE_COLUMNS = [
  'migration',
  'name',
  'range_id',
  'lo',
  'hi',
  'after_key',
  'owner',
  'token',
  'leased_until',
  'complete',
  'rows_done',
] as const;

/** Every range of one backfill, in range order. */
async function readRanges(x: SqlControlContext, migration: string, rangeName: string): Promise<RangeLease[]> {
  const { prefix, t, c, ph, query } = x;
  const cols = RANGE_COLUMNS.slice(2); // all but migration and name, in decodeRange's order
  const sql = `SELECT ${cols.map((y) => c[y]).join(', ')} FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)} ORDER BY ${c.range_id}`;
  const { rows } = await query('ranges', sql, [migration, rangeName]);
  return rows.map((r) => decodeRange(r, prefix + 'ranges'));
}

/** Creating a backfill's ranges and claiming one. */
function claimMethods(x: SqlControlContext): Pick<RangeLeases, 'createRanges' | 'claimRange'> {
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
    async createRanges(migration, rangeName, ranges) {
      checkMigration('createRanges', migration);
      fits('createRanges', 'the backfill name', rangeName, MYSQL_KEY_LIMITS.checkpointName);
      return transaction('createRanges', async (conn) => {
        // One creator wins: the claim row blocks a concurrent creator until this commits, which then inserts nothing.
        const claim = await conn.query(
          schema.insertIfAbsent(
            'checkpoints',
            ['migration', 'name', 'value', 'updated_at'],
            ['migration', 'name'],
            [tuple(0, 4)],
          ),
          [migration, rangesClaimName(rangeName), String(ranges.length), clock()],
        );
        if (claim.affected === 0) return false;
        for (const batch of chunked(
          ranges.map((r, i) => ({ ...r, i })),
          batchRows,
        )) {
          const params: unknown[] = [];
          const rows = batch.map((r, j) => {
            params.push(migration, rangeName, r.i, r.lo ?? null, r.hi ?? null);
            return `(${placeholders(j * 5, 5)}, NULL, NULL, 0, 0, 0, 0)`;
          });
          await conn.query(
            `INSERT INTO ${t.ranges} (${RANGE_COLUMNS.map((y) => c[y]).join(', ')}) VALUES ${rows.join(', ')}`,
            params,
          );
        }
        return true;
      });
    },

    async claimRange(migration, rangeName, owner, leaseMs, options) {
      const now = clock();
      const one = options?.rangeId === undefined ? '' : ` AND ${c.range_id} = ${ph(4)}`;
      const sql = `SELECT ${c.range_id}, ${c.token} FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)} AND ${c.complete} = 0 AND ${c.leased_until} < ${ph(3)}${one} ORDER BY ${c.range_id} LIMIT 20`;
      const params = [migration, rangeName, now, ...(options?.rangeId === undefined ? [] : [options.rangeId])];
      const { rows } = await query('claimRange', sql, params);
      for (const r of rows) {
        const rangeId = num(r, 0, prefix + 'ranges', 'range_id');
        const old = num(r, 1, prefix + 'ranges', 'token');
        const token = nextToken(old, options?.above);
        // Compare-and-swap on the old token: of two claimers, one wins.
        const update =
          `UPDATE ${t.ranges} SET ${c.owner} = ${ph(1)}, ${c.token} = ${ph(2)}, ${c.leased_until} = ${ph(3)} ` +
          `WHERE ${c.migration} = ${ph(4)} AND ${c.name} = ${ph(5)} AND ${c.range_id} = ${ph(6)} AND ${c.token} = ${ph(7)} AND ${c.complete} = 0`;
        const { affected } = await query('claimRange', update, [
          owner,
          token,
          now + leaseMs,
          migration,
          rangeName,
          rangeId,
          old,
        ]);
        if (affected === 1) return (await readRanges(x, migration, rangeName)).find((y) => y.rangeId === rangeId);
      }
      return undefined;
    },
  };
}

/** Renewing and completing a claimed range, reading and dropping them all. */
function leaseMethods(
  x: SqlControlContext,
): Pick<RangeLeases, 'renewRange' | 'completeRange' | 'ranges' | 'dropRanges'> {
  const { t, c, ph, query, transaction, now: clock } = x;
  return {
    async renewRange(migration, rangeName, rangeId, token, leaseMs, after, rows) {
      const sql =
        `UPDATE ${t.ranges} SET ${c.leased_until} = ${ph(1)}, ${c.after_key} = COALESCE(${ph(2)}, ${c.after_key}), ` +
        `${c.rows_done} = ${c.rows_done} + ${ph(3)} ` +
        `WHERE ${c.migration} = ${ph(4)} AND ${c.name} = ${ph(5)} AND ${c.range_id} = ${ph(6)} AND ${c.token} = ${ph(7)} AND ${c.complete} = 0`;
      const { affected } = await query('renewRange', sql, [
        clock() + leaseMs,
        after ?? null,
        rows ?? 0,
        migration,
        rangeName,
        rangeId,
        token,
      ]);
      return affected === 1;
    },

    async completeRange(migration, rangeName, rangeId, token, rows) {
      const sql =
        `UPDATE ${t.ranges} SET ${c.complete} = 1, ${c.leased_until} = 0, ${c.rows_done} = ${c.rows_done} + ${ph(1)} ` +
        `WHERE ${c.migration} = ${ph(2)} AND ${c.name} = ${ph(3)} AND ${c.range_id} = ${ph(4)} AND ${c.token} = ${ph(5)} AND ${c.complete} = 0`;
      const { affected } = await query('completeRange', sql, [rows ?? 0, migration, rangeName, rangeId, token]);
      return affected === 1;
    },

    ranges: (migration, rangeName) => readRanges(x, migration, rangeName),

    async dropRanges(migration, rangeName) {
      await transaction('dropRanges', async (conn) => {
        await conn.query(`DELETE FROM ${t.ranges} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`, [
          migration,
          rangeName,
        ]);
        await conn.query(`DELETE FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`, [
          migration,
          rangesClaimName(rangeName),
        ]);
      });
    },
  };
}

/**
 * Leased ranges over SQL: one row per range in `ranges`. Claims and renewals
 * compare-and-swap on the range's token, so of two claimers one wins and a
 * worker that lost its lease can no longer renew or complete it.
 */
export function sqlRangeLeases(x: SqlControlContext): RangeLeases {
  return { ...claimMethods(x), ...leaseMethods(x) };
}
