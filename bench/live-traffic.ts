import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { defineMigration, memoryControlStore, type BackfillOptions, type Store } from '../src/index.js';
import { postgresStore } from '../src/postgres/index.js';
import { percentile } from '../src/demo/load.js';
import { pgPool, pgUsers, SCHEMA, usersMapping, type BenchUser } from './data.js';
import { median, type BenchCase, type BenchContext } from './harness.js';

/**
 * Live traffic during a backfill: an application keeps writing single rows
 * to the table being backfilled (the migration's old table) at a fixed rate,
 * and its p99 write latency while an adaptive-throttled backfill runs is
 * compared with its p99 on an otherwise idle database.
 *
 * The load runs in a worker thread with its own `pg.Pool`, as an application
 * process would: the backfill's JavaScript does not stall the load's event
 * loop, so what the figure shows is the database (and the CPU the two
 * share). It is open-loop: a clock schedules the writes every 1/rate s
 * whatever the earlier ones are doing.
 */

/** The migration's old table (the application's live table) and its new one. */
export const LIVE_OLD = 'users_live';
export const LIVE_NEW = 'users_live_new';

export interface LoadSettings {
  /** Writes per second, issued on a fixed schedule. */
  readonly rate: number;
  /** The load's own pool size. */
  readonly connections: number;
  /** Seeds the random keys: every run writes the same key sequence. */
  readonly seed: number;
  /** Load run before measuring starts (connections open, plans cached). */
  readonly warmupMs: number;
}

export const LOAD: LoadSettings = { rate: 500, connections: 4, seed: 20_240_611, warmupMs: 1000 };

/**
 * The adaptive-throttled backfill the case measures: short chunks (about
 * 20 ms each, so a chunk's transaction holds the CPU and the WAL briefly),
 * and a wait whenever a probe read of either store takes over 1 ms (the
 * tightest budget the probe's millisecond clock can tell).
 */
export const THROTTLED: BackfillOptions<BenchUser> = {
  chunkSize: 500,
  maxChunkSize: 20_000,
  targetChunkMs: 20,
  latencyBudgetMs: 1,
};
/** The same backfill with no pacing (as the plain backfill case runs it). */
export const UNTHROTTLED: BackfillOptions<BenchUser> = { chunkSize: 5000, maxChunkSize: 20_000 };

/** What the load saw while it was measured. */
export interface LoadResult {
  /** Each write's latency from its call (waiting for a free connection included) to its completion, ms. */
  readonly fromIssue: number[];
  /** Each write's latency from its scheduled time (timer lateness included), ms. */
  readonly fromSchedule: number[];
  /** When each write was issued, ms after measuring began. */
  readonly issuedAt: number[];
  readonly errors: number;
  /** How long the load was measured, ms. */
  readonly windowMs: number;
}

/**
 * The load, as a CommonJS worker script. Writes `UPDATE … SET updated_at =
 * now() WHERE id = $1` on random keys (mulberry32, seeded), one every
 * 1000/rate ms; after the warm-up it says `ready`, counts the writes issued
 * between `measure` and `stop`, and on `stop` waits for them and posts them.
 */
const WORKER = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const pg = require(workerData.pgPath);
const { url, sql, rows, rate, connections, seed, warmupMs } = workerData;
const pool = new pg.Pool({ connectionString: url, max: connections, application_name: 'midair-bench-load' });
pool.on('error', () => {});
let s = seed >>> 0;
const random = () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const fromIssue = [];
const fromSchedule = [];
const issuedAt = [];
let measured = 0;
let errors = 0;
let measuring = false;
let stopping = false;
let inFlight = 0;
let drained = () => {};
function fire(at) {
  const id = 1 + Math.floor(random() * rows);
  const counted = measuring;
  const t0 = performance.now();
  inFlight++;
  pool.query(sql, [id]).then(
    () => {
      const t1 = performance.now();
      if (counted) {
        fromIssue.push(t1 - t0);
        fromSchedule.push(t1 - at);
        issuedAt.push(t0 - measured);
      }
    },
    () => {
      if (counted) errors++;
    },
  ).finally(() => {
    if (--inFlight === 0) drained();
  });
}
const interval = 1000 / rate;
let start = 0;
let n = 0;
function tick() {
  if (stopping) return;
  const now = performance.now();
  for (; start + n * interval <= now; n++) fire(start + n * interval);
  setTimeout(tick, Math.max(0, start + n * interval - performance.now()));
}
parentPort.on('message', (m) => {
  if (m === 'measure') {
    measuring = true;
    measured = performance.now();
  }
  if (m !== 'stop') return;
  measuring = false;
  stopping = true;
  new Promise((resolve) => {
    drained = resolve;
    if (inFlight === 0) resolve();
  })
    .then(() => pool.end())
    .then(() => parentPort.postMessage({ type: 'done', fromIssue, fromSchedule, issuedAt, errors }));
});
(async () => {
  await Promise.all(Array.from({ length: connections }, () => pool.query('SELECT 1')));
  start = performance.now();
  tick();
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  parentPort.postMessage({ type: 'ready' });
})().catch((error) => {
  throw error;
});
`;

const pgPath = createRequire(import.meta.url).resolve('pg');

/** A running load: unmeasured until `measure()`; `stop()` ends it and resolves what was measured. */
export interface Load {
  measure(): void;
  stop(): Promise<LoadResult>;
}

/** Starts the load on `table` (keys 1..rows); resolves once it has warmed up. */
export async function startLoad(
  ctx: BenchContext,
  table: string,
  rows: number,
  settings: LoadSettings = LOAD,
): Promise<Load> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      pgPath,
      url: ctx.pgUrl,
      sql: `UPDATE ${SCHEMA}.${table} SET updated_at = now() WHERE id = $1`,
      rows,
      ...settings,
    },
  });
  type Message =
    | { type: 'ready' }
    | { type: 'done'; fromIssue: number[]; fromSchedule: number[]; issuedAt: number[]; errors: number };
  const waiters: ((m: Message) => void)[] = [];
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the load worker exited (${code}) before it finished`)));
  });
  failed.catch(() => undefined);
  worker.on('message', (m: Message) => waiters.shift()?.(m));
  const next = async (): Promise<Message> =>
    Promise.race([new Promise<Message>((resolve) => waiters.push(resolve)), failed]);
  try {
    if ((await next()).type !== 'ready') throw new Error('the load worker did not get ready');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  let t0: number | undefined;
  return {
    measure() {
      worker.postMessage('measure');
      t0 = performance.now();
    },
    async stop() {
      const windowMs = t0 === undefined ? 0 : performance.now() - t0;
      try {
        worker.postMessage('stop');
        const done = await next();
        if (done.type !== 'done') throw new Error('the load worker did not report');
        return {
          fromIssue: done.fromIssue,
          fromSchedule: done.fromSchedule,
          issuedAt: done.issuedAt,
          errors: done.errors,
          windowMs,
        };
      } finally {
        await worker.terminate();
      }
    },
  };
}

let pool: pg.Pool | undefined;
const pgp = async (ctx: BenchContext): Promise<pg.Pool> => (pool ??= await pgPool(ctx.pgUrl));
const store = async (ctx: BenchContext, table: string): Promise<Store<bigint, BenchUser>> =>
  postgresStore<bigint, BenchUser>(await pgp(ctx), usersMapping(table, SCHEMA));

export interface BackfillRun {
  readonly ms: number;
  readonly rowsPerSecond: number;
  /** Times the run waited because a probe of the stores exceeded its latency budget. */
  readonly latencyWaits: number;
  /** The load measured over the run, when one ran. */
  readonly load?: LoadResult;
}

/**
 * Backfills the old table into a fresh empty new one, measuring `load` (if
 * given) over the backfill's run alone; throws unless every row arrived.
 */
export async function backfillLive(
  ctx: BenchContext,
  options: BackfillOptions<BenchUser>,
  load?: Load,
): Promise<BackfillRun> {
  const p = await pgp(ctx);
  await pgUsers(p, LIVE_NEW, 0);
  const target = await store(ctx, LIVE_NEW);
  await target.setup();
  const old = await store(ctx, LIVE_OLD);
  await old.setup();
  const m = defineMigration({
    name: 'bench-live',
    old,
    new: target,
    control: memoryControlStore(),
    instanceExpiryMs: 1000,
    pollMs: 100,
  });
  await m.advance({ reason: 'bench' });
  let latencyWaits = 0;
  load?.measure();
  const t0 = performance.now();
  const r = await m.backfill({ ...options, onWait: (reason) => void (reason === 'latency' && latencyWaits++) });
  const ms = performance.now() - t0;
  const measured = await load?.stop();
  await m.close();
  if (r.status !== 'complete' || r.inserted !== ctx.rows)
    throw new Error(
      `backfill ${r.status}, ${r.inserted} of ${ctx.rows} inserted${r.error ? `: ${r.error.message}` : ''}`,
    );
  const { rows } = await p.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.${LIVE_NEW}`);
  if (Number(rows[0]?.n) !== ctx.rows) throw new Error(`the new table holds ${rows[0]?.n} rows, not ${ctx.rows}`);
  // Emptied again, so autovacuum of the copied rows does not run into the next measurement.
  await pgUsers(p, LIVE_NEW, 0);
  return { ms, rowsPerSecond: (ctx.rows * 1000) / ms, latencyWaits, ...(measured ? { load: measured } : {}) };
}

/**
 * Before each measured run: the old table vacuumed (the load's dead rows
 * from earlier runs, so autovacuum does not start during one) and a
 * checkpoint, so neither run flushes the other's dirty pages.
 */
async function settle(ctx: BenchContext): Promise<void> {
  const p = await pgp(ctx);
  await p.query(`VACUUM (ANALYZE) ${SCHEMA}.${LIVE_OLD}`);
  await p.query('CHECKPOINT');
}

const p99us = (ms: readonly number[]): number => percentile(ms, 99) * 1000;

/** What the runs saw, for the notes. */
const seen = {
  unthrottled: undefined as BackfillRun | undefined,
  throttled: [] as BackfillRun[],
  midairSchedule: [] as number[],
  idleSchedule: [] as number[],
  samples: [] as number[],
};

export const liveTraffic: BenchCase = {
  name: 'live traffic during backfill',
  what: `p99 latency (from issue to completion) of ${LOAD.rate} single-row UPDATEs/s on random keys of the old table (open-loop, ${LOAD.connections} connections, its own worker thread) while an adaptive-throttled \`backfill\` (latencyBudgetMs ${THROTTLED.latencyBudgetMs}, targetChunkMs ${THROTTLED.targetChunkMs}) copies it PostgreSQL → PostgreSQL into an empty table`,
  baselineWhat: 'p99 of the same load for as long on an idle database',
  target: 1.2,
  unit: 'ms',
  async setup(ctx) {
    seen.unthrottled = undefined;
    seen.throttled = [];
    seen.midairSchedule = [];
    seen.idleSchedule = [];
    seen.samples = [];
    await pgUsers(await pgp(ctx), LIVE_OLD, ctx.rows);
    await settle(ctx);
    seen.unthrottled = await backfillLive(ctx, UNTHROTTLED);
    return true;
  },
  async midair(ctx) {
    await settle(ctx);
    const running = await startLoad(ctx, LIVE_OLD, ctx.rows);
    let run: BackfillRun;
    try {
      // The quick run keeps the harness from rotting, on a machine doing other work: a 1 ms latency budget can hold
      // the backfill for as long as the machine stays slow, so it gets a budget it can meet (its figure is no measurement).
      run = await backfillLive(ctx, ctx.quick ? { ...THROTTLED, latencyBudgetMs: 25 } : THROTTLED, running);
    } catch (error) {
      await running.stop().catch(() => undefined);
      throw error;
    }
    const load = run.load;
    if (!load) throw new Error('the load was not measured');
    if (load.errors > 0) throw new Error(`${load.errors} of the load's writes failed`);
    seen.throttled.push(run);
    seen.midairSchedule.push(p99us(load.fromSchedule));
    seen.samples.push(load.fromIssue.length);
    return p99us(load.fromIssue) / 1000;
  },
  async baseline(ctx) {
    await settle(ctx);
    const ms = seen.throttled.at(-1)?.ms ?? seen.unthrottled?.ms ?? 1000;
    const running = await startLoad(ctx, LIVE_OLD, ctx.rows);
    running.measure();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const load = await running.stop();
    if (load.errors > 0) throw new Error(`${load.errors} of the load's writes failed`);
    seen.idleSchedule.push(p99us(load.fromSchedule));
    return p99us(load.fromIssue) / 1000;
  },
  async teardown(ctx) {
    const u = seen.unthrottled;
    if (u && seen.throttled.length > 0) {
      const rate = median(seen.throttled.map((r) => r.rowsPerSecond));
      const share = rate / u.rowsPerSecond;
      ctx.note(
        `backfill rate: unthrottled ${Math.round(u.rowsPerSecond)} rows/s (no load, ${JSON.stringify(UNTHROTTLED)}); throttled under the load ${seen.throttled.map((r) => Math.round(r.rowsPerSecond)).join(', ')} rows/s (median ${Math.round(rate)}, ${(share * 100).toFixed(0)} % of unthrottled: ${share >= 0.5 ? 'meets' : 'misses'} the ≥ 50 % requirement; ${JSON.stringify(THROTTLED)}, latency waits ${seen.throttled.map((r) => r.latencyWaits).join(', ')}).`,
      );
      ctx.note(
        `p99 from the scheduled time (timer lateness included): ${seen.midairSchedule.map((v) => v.toFixed(0)).join(', ')} µs during the backfill, ${seen.idleSchedule.map((v) => v.toFixed(0)).join(', ')} µs idle; ${median(seen.samples)} writes measured per run.`,
      );
    }
    await pool?.end();
    pool = undefined;
  },
};
