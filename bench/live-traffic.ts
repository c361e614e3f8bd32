import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import {
  defineMigration,
  memoryControlStore,
  type BackfillOptions,
  type BackfillResult,
  type ControlStore,
  type Store,
} from '../src/index.js';
import { LatencyWindow } from '../src/migration/latency-window.js';
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
 * paced on both signals: the load's own p99 (it reports it with a
 * heartbeat, as an instance does) against 1.2 × its level before the run
 * (`servedLatencyFactor`, the default), and a commit probe of both stores
 * against a budget of {@link PROBE_BUDGET_X} × the probe's median on the
 * idle database, measured before each run (what an operator would read off
 * their own database; `latencyBudgetMs` is absolute).
 */
export const THROTTLED: BackfillOptions<BenchUser> = {
  chunkSize: 500,
  maxChunkSize: 20_000,
  targetChunkMs: 20,
  servedLatencyFactor: 1.2,
};
/** The commit probe's budget, as a multiple of its idle median. */
export const PROBE_BUDGET_X = 3;
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
/** Every write's latency goes to the main thread in batches, as an application instance would measure its own. */
let batch = [];
const flush = setInterval(() => {
  if (batch.length === 0) return;
  parentPort.postMessage({ type: 'latencies', values: batch });
  batch = [];
}, 50);
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
      batch.push(t1 - t0);
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
  clearInterval(flush);
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

/**
 * A running load: unmeasured until `measure()`; `stop()` ends it and
 * resolves what was measured. From its start it keeps a window of its
 * writes' latencies, as midair's repository does for the writes it serves,
 * which `reportTo` heartbeats into a control store as an application
 * instance of the migration would.
 */
export interface Load {
  measure(): void;
  /** Heartbeats as the instance `bench-load` of `migration`, every 100 ms, with the p99 of its last second of writes. */
  reportTo(control: ControlStore, migration: string): () => void;
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
  const served = new LatencyWindow(1000, 4);
  const failed = new Promise<never>((_, reject) => {
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the load worker exited (${code}) before it finished`)));
  });
  failed.catch(() => undefined);
  worker.on('message', (m: Message | { type: 'latencies'; values: number[] }) => {
    if (m.type !== 'latencies') return waiters.shift()?.(m);
    for (const ms of m.values) served.record(ms);
  });
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
    reportTo(control, migration) {
      const beat = async (): Promise<void> =>
        control.heartbeat({
          migration,
          instanceId: 'bench-load',
          host: 'bench',
          phaseVersion: (await control.getState(migration))?.version ?? 0,
          inFlightWrites: 0,
          servedWrites: served.report(),
        });
      void beat();
      const timer = setInterval(() => void beat().catch(() => undefined), 100);
      return () => clearInterval(timer);
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
  /** Times the run waited, by reason (a probe past its budget, the load's p99 past its bound). */
  readonly waits: Readonly<Record<string, number>>;
  /** How long it waited for each reason, easing off included (the backfill's result). */
  readonly waitedMs: BackfillResult['waitedMs'];
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
  const control = memoryControlStore();
  const m = defineMigration({
    name: 'bench-live',
    old,
    new: target,
    control,
    instanceExpiryMs: 1000,
    pollMs: 100,
  });
  // The load is the application: it reports its writes' p99 with a heartbeat, as an instance's repository would.
  const stopReports = load?.reportTo(control, 'bench-live');
  await m.advance({ reason: 'bench' });
  const waits: Record<string, number> = {};
  load?.measure();
  const t0 = performance.now();
  const r = await m.backfill({ ...options, onWait: (reason) => void (waits[reason] = (waits[reason] ?? 0) + 1) });
  const ms = performance.now() - t0;
  const measured = await load?.stop();
  stopReports?.();
  await m.close();
  if (r.status !== 'complete' || r.inserted !== ctx.rows)
    throw new Error(
      `backfill ${r.status}, ${r.inserted} of ${ctx.rows} inserted${r.error ? `: ${r.error.message}` : ''}`,
    );
  const { rows } = await p.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.${LIVE_NEW}`);
  if (Number(rows[0]?.n) !== ctx.rows) throw new Error(`the new table holds ${rows[0]?.n} rows, not ${ctx.rows}`);
  // Emptied again, so autovacuum of the copied rows does not run into the next measurement.
  await pgUsers(p, LIVE_NEW, 0);
  return {
    ms,
    rowsPerSecond: (ctx.rows * 1000) / ms,
    waits,
    waitedMs: r.waitedMs,
    ...(measured ? { load: measured } : {}),
  };
}

/** The commit probe's median on the idle database, ms (30 probes of the old store, 20 ms apart). */
async function idleCommitMs(ctx: BenchContext): Promise<number> {
  const probe = (await store(ctx, LIVE_OLD)).commitProbe;
  if (!probe) throw new Error('the PostgreSQL store has no commit probe');
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    await probe.commit();
    times.push(performance.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return percentile(times, 50);
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

/** A run's waits as the notes say them: how often it stopped for each reason, and for how long in all (easing off included). */
function waitsText(r: BackfillRun): string {
  const reasons = new Set([...Object.keys(r.waits), ...Object.keys(r.waitedMs)]);
  if (reasons.size === 0) return 'none';
  return [...reasons]
    .map((k) => `${k} ${r.waits[k] ?? 0}× ${((r.waitedMs[k as keyof typeof r.waitedMs] ?? 0) / 1000).toFixed(1)} s`)
    .join(', ');
}

/** What the runs saw, for the notes. */
const seen = {
  unthrottled: undefined as BackfillRun | undefined,
  throttled: [] as BackfillRun[],
  midairSchedule: [] as number[],
  idleSchedule: [] as number[],
  samples: [] as number[],
  budgets: [] as number[],
};

export const liveTraffic: BenchCase = {
  name: 'live traffic during backfill',
  what: `p99 latency (from issue to completion) of ${LOAD.rate} single-row UPDATEs/s on random keys of the old table (open-loop, ${LOAD.connections} connections, its own worker thread) while an adaptive-throttled \`backfill\` (targetChunkMs ${THROTTLED.targetChunkMs}; paced on the load's p99, which it reports with a heartbeat as an instance does, against servedLatencyFactor ${THROTTLED.servedLatencyFactor} × its level before the run, and on a commit probe of both stores against ${PROBE_BUDGET_X} × its idle median) copies it PostgreSQL → PostgreSQL into an empty table`,
  baselineWhat: 'p99 of the same load for as long on an idle database',
  target: 1.2,
  unit: 'ms',
  async setup(ctx) {
    seen.unthrottled = undefined;
    seen.throttled = [];
    seen.midairSchedule = [];
    seen.idleSchedule = [];
    seen.samples = [];
    seen.budgets = [];
    await pgUsers(await pgp(ctx), LIVE_OLD, ctx.rows);
    await settle(ctx);
    seen.unthrottled = await backfillLive(ctx, UNTHROTTLED);
    return true;
  },
  async midair(ctx) {
    await settle(ctx);
    await (await store(ctx, LIVE_OLD)).setup(); // the probe table, before the idle probe
    const budget = PROBE_BUDGET_X * (await idleCommitMs(ctx));
    seen.budgets.push(budget);
    const running = await startLoad(ctx, LIVE_OLD, ctx.rows);
    let run: BackfillRun;
    try {
      run = await backfillLive(ctx, { ...THROTTLED, latencyBudgetMs: budget }, running);
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
        `backfill rate: unthrottled ${Math.round(u.rowsPerSecond)} rows/s (no load, ${JSON.stringify(UNTHROTTLED)}); throttled under the load ${seen.throttled.map((r) => Math.round(r.rowsPerSecond)).join(', ')} rows/s (median ${Math.round(rate)}, ${(share * 100).toFixed(0)} % of unthrottled: ${share >= 0.5 ? 'meets' : 'misses'} the ≥ 50 % requirement; ${JSON.stringify(THROTTLED)}, commit-probe budget ${seen.budgets.map((b) => `${b.toFixed(2)} ms`).join(', ')}).`,
      );
      ctx.note(`backfill waits under the load, per run: ${seen.throttled.map((r) => `${waitsText(r)}`).join('; ')}.`);
      ctx.note(
        `p99 from the scheduled time (timer lateness included): ${seen.midairSchedule.map((v) => v.toFixed(0)).join(', ')} µs during the backfill, ${seen.idleSchedule.map((v) => v.toFixed(0)).join(', ')} µs idle; ${median(seen.samples)} writes measured per run.`,
      );
    }
    await pool?.end();
    pool = undefined;
  },
};
