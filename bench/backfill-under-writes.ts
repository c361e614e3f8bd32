import type pg from 'pg';
import { defineMigration, type BackfillOptions, type BackfillResult } from '../src/index.js';
import { dropControl, openSides, type SidesSpec } from './app-sides.js';
import { startApp, type AppResult } from './app-load.js';
import { pgPool, pgUsers, SCHEMA, type BenchUser } from './data.js';
import { etaAccuracy, etaText, type EtaPoint, type ProgressSample } from './eta-accuracy.js';
import { median, type BenchCase, type BenchContext } from './harness.js';

/**
 * A backfill PostgreSQL → PostgreSQL in dual-write while the application
 * keeps writing old through midair: an application instance in a process of
 * its own (its own repository, pools and control-store connection, the
 * control store shared in PostgreSQL) puts random existing keys at 2 000/s on
 * an open-loop schedule, and inserts new keys past the end at 100/s (ahead of
 * the backfill's cursor, so the copy's total grows while it runs). In
 * dual-write the application's writes go through midair — old, then new
 * synced by key — so this is the load a real backfill runs beside.
 *
 * The backfill must finish, and a full verification after the load stopped
 * must find the stores equal. The baseline is the same backfill with the same
 * application process running and idle (it writes nothing).
 */

const OLD = 'users_sw';
const NEW = 'users_sw_new';
const PREFIX = 'sw_midair_';
const RATE = 2000;
const INSERTS = 100;
const BACKFILL: BackfillOptions<BenchUser> = { chunkSize: 5000, maxChunkSize: 20_000 };

const spec = (ctx: BenchContext): SidesSpec => ({
  pgUrl: ctx.pgUrl,
  mysqlUrl: ctx.mysqlUrl,
  old: { engine: 'postgres', table: OLD },
  new: { engine: 'postgres', table: NEW },
  controlPrefix: PREFIX,
});

interface Run {
  readonly ms: number;
  readonly result: BackfillResult;
  readonly samples: ProgressSample[];
  readonly app: AppResult;
  readonly verifyMs: number;
  /** Keys in the repair queue when the load stopped, and how long draining them took. */
  readonly queued: number;
  readonly drainMs: number;
}

let pool: pg.Pool | undefined;
const pgp = async (ctx: BenchContext): Promise<pg.Pool> => (pool ??= await pgPool(ctx.pgUrl));
let round = 0;

/** Both tables and the control store as a fresh run needs them: old back to its rows, new empty, no fences. */
async function reset(ctx: BenchContext): Promise<void> {
  const p = await pgp(ctx);
  await p.query(`DELETE FROM ${SCHEMA}.${OLD} WHERE id > $1`, [ctx.rows]);
  await p.query(`DROP TABLE IF EXISTS ${SCHEMA}.${OLD}_midair_tombstones, ${SCHEMA}.${OLD}_midair_fences`);
  await pgUsers(p, NEW, 0);
  await dropControl(p, PREFIX);
  // The load's dead rows from earlier runs vacuumed, and a checkpoint, so no run flushes another's pages.
  await p.query(`VACUUM (ANALYZE) ${SCHEMA}.${OLD}`);
  await p.query('CHECKPOINT');
}

/** One backfill with the application writing at `rate` (0: idle); throws unless it completed and verifies equal. */
async function backfillBeside(ctx: BenchContext, rate: number, inserts: number): Promise<Run> {
  await reset(ctx);
  const sides = await openSides(spec(ctx), 8);
  const name = `bench-sw-${++round}`;
  try {
    await sides.old.setup();
    await sides.new.setup();
    await sides.control.setup();
    await sides.control.init(name, 'bench');
    const app = await startApp({
      sides: spec(ctx),
      migration: name,
      rows: ctx.rows,
      rate,
      insertRate: inserts,
      seed: 20_240_611 + round,
      warmupMs: 1000,
      connections: 8,
      maxInFlight: 64,
      // At this rate the second writes time out often enough that auto-halt steps back to old-only, which stops
      // the backfill: the case measures the backfill beside the writes, so the instance runs without it.
      autoHalt: false,
    });
    // The operator, as the command line builds it: no repairer of its own, not one of the serving instances.
    const m = defineMigration<bigint, BenchUser>({
      name,
      old: sides.old,
      new: sides.new,
      control: sides.control,
      repair: { enabled: false },
    });
    let run: Pick<Run, 'ms' | 'result' | 'samples'>;
    try {
      await m.advance({ reason: 'bench: dual writes', gated: true });
      const samples: ProgressSample[] = [];
      const t0 = performance.now();
      const result = await m.backfill({
        ...BACKFILL,
        onProgress: (p) => samples.push({ ...p, atMs: performance.now() - t0 }),
      });
      run = { ms: performance.now() - t0, result, samples };
    } catch (error) {
      app.kill();
      throw error;
    }
    const appResult = await app.stop();
    // Second writes that failed (timed out under the load) left their keys in the repair queue: drained as the
    // instances' repairers would, before the verification an operator runs next.
    const queued = (await m.facts()).repairDepth;
    const t1 = performance.now();
    await m.drainRepairs();
    const drainMs = performance.now() - t1;
    const t2 = performance.now();
    const report = await m.verify({ mode: 'full' });
    const verifyMs = performance.now() - t2;
    const depth = (await m.facts()).repairDepth;
    await m.close();
    const { result } = run;
    if (result.status !== 'complete')
      throw new Error(
        `backfill ${result.status}${result.error ? `: ${result.error.code}: ${result.error.message}` : ''}`,
      );
    if (report.status !== 'equal')
      throw new Error(
        `verification after the backfill: ${report.status} (${report.missing.total} missing, ${report.extra.total} extra, ${report.different.total} different; ${depth} repairs queued; second writes failed: ${JSON.stringify(appResult.secondFailures)})`,
      );
    const errors = Object.values(appResult.phases).reduce((n, p) => n + p.errors, 0);
    if (errors > 0) throw new Error(`${errors} of the application's writes failed: ${appResult.firstError ?? ''}`);
    return { ...run, app: appResult, verifyMs, queued, drainMs };
  } finally {
    await sides.close();
  }
}

const seen = { loaded: [] as Run[], idle: [] as Run[] };
const SHARES = [10, 50, 90];

export const backfillUnderWrites: BenchCase = {
  name: 'backfill under sustained writes',
  what: `\`backfill\` PostgreSQL → PostgreSQL in dual-write while an application process writes old through its own repository: ${RATE} puts/s of random existing keys and ${INSERTS} inserts/s of new keys past the end (open-loop), then the repair queue drained and a full \`verify\` (must be equal); the instance runs with auto-halt off (at this rate it steps back to old-only)`,
  baselineWhat: 'the same backfill with the application process running and writing nothing',
  target: 2,
  unit: 'ms',
  async setup(ctx) {
    seen.loaded = [];
    seen.idle = [];
    await pgUsers(await pgp(ctx), OLD, ctx.rows);
    return true;
  },
  async midair(ctx) {
    const r = await backfillBeside(ctx, RATE, INSERTS);
    seen.loaded.push(r);
    return r.ms;
  },
  async baseline(ctx) {
    const r = await backfillBeside(ctx, 0, 0);
    seen.idle.push(r);
    return r.ms;
  },
  async teardown(ctx) {
    const ms = (runs: readonly Run[]): string => runs.map((r) => (r.ms / 1000).toFixed(1)).join(', ');
    if (seen.loaded.length > 0) {
      const write = seen.loaded.map((r) => r.app.phases['dual-write']).filter((p) => p !== undefined);
      ctx.note(
        `backfill ${ms(seen.loaded)} s with the writes, ${ms(seen.idle)} s without; verification after ${seen.loaded.map((r) => (r.verifyMs / 1000).toFixed(1)).join(', ')} s, equal; ${seen.loaded.map((r) => `${r.result.rowsRead} rows read, ${r.result.updated} updated, ${r.app.inserted} inserted by the application`).join('; ')}`,
      );
      ctx.note(
        `the application's puts in dual-write (from their scheduled time, at most 64 in flight): p50 ${median(write.map((p) => p.p50)).toFixed(1)} ms, p99 ${median(write.map((p) => p.p99)).toFixed(1)} ms, max ${median(write.map((p) => p.max)).toFixed(0)} ms over ${median(write.map((p) => p.writes))} writes, ${median(seen.loaded.map((r) => r.app.unissued))} scheduled writes never issued; second writes failed: ${seen.loaded.map((r) => JSON.stringify(r.app.secondFailures)).join(', ')}; repair queue when the load stopped ${seen.loaded.map((r) => `${r.queued} keys, drained in ${(r.drainMs / 1000).toFixed(1)} s`).join('; ')}`,
      );
      for (const r of seen.loaded) {
        const points: EtaPoint[] = etaAccuracy(r.samples, SHARES);
        const tail = r.ms - (r.samples.at(-1)?.atMs ?? r.ms);
        ctx.note(
          `time left shown while copying under the writes: ${etaText(points)}; the prune pass after the copy took ${(tail / 1000).toFixed(1)} s more (not in the copy's time left)`,
        );
      }
    }
    await pool?.end();
    pool = undefined;
  },
};
