import { spawn } from 'node:child_process';
import type pg from 'pg';
import { defineMigration } from '../src/index.js';
import type { PhaseLatency } from './app-child.js';
import { dropControl, mariaPool, mariaSplit, openSides, type SidesSpec } from './app-sides.js';
import { startApp, type AppResult } from './app-load.js';
import { pgPool, pgUsers, SCHEMA, type BenchUser } from './data.js';
import type { BenchCase, BenchContext } from './harness.js';
import { walkEveryPhase, type Walk } from './operator-walk.js';

/**
 * A whole migration under load: PostgreSQL `users` (bench/data.ts) to a
 * MariaDB schema of another shape (`wm_accounts` with renamed columns, `bio`
 * and `prefs` split into `wm_account_profiles`), with an application
 * instance in a process of its own putting random keys at 500/s through its
 * repository (open-loop), while the operator walks every phase from old-only
 * to complete through the gates, with the backfill and full verifications
 * between, as the command line does. The control store is PostgreSQL, shared
 * by both processes.
 *
 * The headline is the application's worst served p99 in any phase after
 * old-only against its p99 in old-only (each from the write's scheduled
 * time); each phase's ratio is in the notes, and the end-to-end time (the
 * operator's calls, none of the dwells that give each phase enough writes)
 * against a COPY pipe into a PostgreSQL table plus an in-database MD5 row-hash
 * scan of both tables.
 */

const OLD = 'users_wm';
const COPY = 'users_wm_copy';
const NEW = { engine: 'mariadb-split', accounts: 'wm_accounts', profiles: 'wm_account_profiles' } as const;
const PREFIX = 'wm_midair_';
/** The application's writes per second (`MIDAIR_BENCH_WRITE_RATE`; a quick run writes 100/s unless it is set). */
const rateOf = (ctx: BenchContext): number => Number(process.env.MIDAIR_BENCH_WRITE_RATE ?? (ctx.quick ? 100 : 500));

const spec = (ctx: BenchContext): SidesSpec => ({
  pgUrl: ctx.pgUrl,
  mysqlUrl: ctx.mysqlUrl,
  old: { engine: 'postgres', table: OLD },
  new: NEW,
  controlPrefix: PREFIX,
});

let pool: pg.Pool | undefined;
const pgp = async (ctx: BenchContext): Promise<pg.Pool> => (pool ??= await pgPool(ctx.pgUrl));
let round = 0;

interface Run {
  readonly walk: Walk;
  readonly app: AppResult;
  readonly rowsNew: number;
}
const seen = { runs: [] as Run[], baselines: [] as { copyMs: number; hashMs: number }[] };

/** Old back to its rows with nothing of midair beside it, the MariaDB split empty, a fresh control store. */
async function reset(ctx: BenchContext): Promise<void> {
  const p = await pgp(ctx);
  await p.query(`DROP TABLE IF EXISTS ${SCHEMA}.${OLD}_midair_tombstones, ${SCHEMA}.${OLD}_midair_fences`);
  await pgUsers(p, OLD, ctx.rows);
  await dropControl(p, PREFIX);
  const maria = await mariaPool(ctx.mysqlUrl, 1);
  try {
    await mariaSplit(maria, NEW);
  } finally {
    await maria.end();
  }
  await p.query('CHECKPOINT');
}

const p99Of = (phases: Readonly<Record<string, PhaseLatency>>, phase: string): number => phases[phase]?.p99 ?? NaN;

/** Throws unless the copy and both verifications came out clean, the writes all succeeded and new holds every row. */
function check(ctx: BenchContext, r: Run): void {
  const { walk, app, rowsNew } = r;
  if (walk.backfill.status !== 'complete')
    throw new Error(`backfill ${walk.backfill.status}${walk.backfill.error ? `: ${walk.backfill.error.message}` : ''}`);
  for (const v of walk.verifications)
    if (v.report.status !== 'equal')
      throw new Error(
        `the verification in ${v.phase}: ${v.report.status} (${v.report.missing.total} missing, ${v.report.extra.total} extra, ${v.report.different.total} different)`,
      );
  const errors = Object.values(app.phases).reduce((n, p) => n + p.errors, 0);
  if (errors > 0) throw new Error(`${errors} of the application's writes failed: ${app.firstError ?? ''}`);
  if (rowsNew !== ctx.rows) throw new Error(`new holds ${rowsNew} entities at the end, not ${ctx.rows}`);
  if (!app.phases['old-only'] || !app.phases.complete)
    throw new Error('the application wrote in no old-only or complete');
}

async function wholeMigration(ctx: BenchContext): Promise<Run> {
  await reset(ctx);
  const sides = await openSides(spec(ctx), 8);
  const name = `bench-wm-${++round}`;
  try {
    await Promise.all([sides.old.setup(), sides.new.setup(), sides.control.setup()]);
    await sides.control.init(name, 'bench');
    const app = await startApp({
      sides: spec(ctx),
      migration: name,
      rows: ctx.rows,
      rate: rateOf(ctx),
      insertRate: 0,
      seed: 20_240_612 + round,
      warmupMs: 1000,
      connections: 8,
      maxInFlight: 16,
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
    let walk: Walk;
    try {
      walk = await walkEveryPhase(m, {
        dwellMs: ctx.quick ? 2000 : 5000,
        // A writing application makes no shadow comparisons (it reads nothing); complete follows new-primary at once.
        gates: { minComparisons: 0, rollbackWindowMs: 0 },
        gateWaitMs: 60_000,
        ...(process.env.MIDAIR_BENCH_VERBOSE ? { log: (t: string) => void process.stderr.write(`${t}\n`) } : {}),
      });
    } catch (error) {
      // What the application saw says why, often: stopped, not killed.
      const seenByApp = await app.stop().catch(() => undefined);
      throw new Error(
        `${(error as Error).message}; the application's second writes failed: ${JSON.stringify(seenByApp?.secondFailures ?? {})}`,
        { cause: error },
      );
    }
    const appResult = await app.stop();
    await m.close();
    const run = { walk, app: appResult, rowsNew: await sides.new.count() };
    check(ctx, run);
    return run;
  } finally {
    await sides.close();
  }
}

/** Runs a shell pipeline; resolves its wall time in ms. */
async function shell(command: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`exited ${code}: ${err.slice(0, 300)}`))));
  });
  return performance.now() - t0;
}

/** The end-to-end baseline: old piped by binary COPY into an empty PostgreSQL table, then an MD5 row-hash scan of each. */
async function copyAndHash(ctx: BenchContext): Promise<{ copyMs: number; hashMs: number }> {
  const p = await pgp(ctx);
  await pgUsers(p, COPY, 0);
  const copyMs = await shell(
    `psql "${ctx.pgUrl}" -qc "COPY ${SCHEMA}.${OLD} TO STDOUT (FORMAT binary)" | psql "${ctx.pgUrl}" -qc "COPY ${SCHEMA}.${COPY} FROM STDIN (FORMAT binary)"`,
  );
  const t0 = performance.now();
  const sums: string[] = [];
  for (const t of [OLD, COPY]) {
    const { rows } = await p.query<{ n: string; s: string }>(
      `SELECT count(*) AS n, sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint) AS s FROM ${SCHEMA}.${t} t`,
    );
    sums.push(`${rows[0]?.n}:${rows[0]?.s}`);
  }
  const hashMs = performance.now() - t0;
  if (sums[0] !== sums[1]) throw new Error('the copied table does not hash like the original');
  await pgUsers(p, COPY, 0);
  return { copyMs, hashMs };
}

export const wholeMigrationUnderLoad: BenchCase = {
  name: 'whole migration under load',
  what: `every phase from old-only to complete, PostgreSQL \`users\` → MariaDB \`wm_accounts\` (renamed columns) + \`wm_account_profiles\` (bio and prefs split off), through the gates with \`backfill\` and full \`verify\` in dual-write and new-primary, while an application process puts random keys through its own repository at 500/s (\`MIDAIR_BENCH_WRITE_RATE\`; 100/s in a quick run) (open-loop, at most 16 in flight; control store in PostgreSQL, shared): the application's worst served p99 (from the scheduled time) in any phase after old-only`,
  baselineWhat:
    'the same writes’ p99 in old-only, the run’s first phase; the notes give each phase’s ratio, and the end-to-end time against a binary COPY pipe into a PostgreSQL table plus an MD5 row-hash scan of both tables (a pipe into MariaDB is not measured)',
  target: 1.2,
  unit: 'ms',
  maxRepeats: 1,
  async setup(ctx) {
    seen.runs = [];
    seen.baselines = [];
    await pgUsers(await pgp(ctx), OLD, ctx.rows);
    return true;
  },
  async midair(ctx) {
    const r = await wholeMigration(ctx);
    seen.runs.push(r);
    const after = Object.keys(r.app.phases).filter((p) => p !== 'old-only');
    return Math.max(...after.map((p) => p99Of(r.app.phases, p)));
  },
  async baseline(ctx) {
    seen.baselines.push(await copyAndHash(ctx));
    const last = seen.runs.at(-1);
    if (!last) throw new Error('the old-only figure comes from the migration run, which has not run');
    return p99Of(last.app.phases, 'old-only');
  },
  async teardown(ctx) {
    for (const [i, r] of seen.runs.entries()) notes(ctx, r, seen.baselines[i]);
    await pool?.end();
    pool = undefined;
  },
};

function notes(ctx: BenchContext, r: Run, base: { copyMs: number; hashMs: number } | undefined): void {
  const { walk, app } = r;
  const oldOnly = p99Of(app.phases, 'old-only');
  const spans = new Map(walk.phases.map((p) => [p.phase, (p.toMs - p.fromMs) / 1000]));
  ctx.note(
    `served p99 per phase (from the scheduled time; ratio to old-only): ${Object.entries(app.phases)
      .map(
        ([phase, p]) =>
          `${phase} ${p.p99.toFixed(1)} ms (${(p.p99 / oldOnly).toFixed(2)}×; p50 ${p.p50.toFixed(1)} ms, ${p.writes} writes in ${spans.get(phase as never)?.toFixed(1) ?? '?'} s)`,
      )
      .join(
        ', ',
      )}; ${app.unissued} scheduled writes never issued; second writes failed: ${JSON.stringify(app.secondFailures)}`,
  );
  const jobs = `backfill ${(walk.backfill.durationMs / 1000).toFixed(1)} s (${walk.backfill.rowsRead} rows), verifications ${walk.verifications.map((v) => `${v.phase} ${(v.report.durationMs / 1000).toFixed(1)} s equal`).join(', ')}`;
  const e2e = base
    ? `; baseline: COPY pipe ${(base.copyMs / 1000).toFixed(1)} s + MD5 row-hash scans ${(base.hashMs / 1000).toFixed(1)} s = ${((base.copyMs + base.hashMs) / 1000).toFixed(1)} s (${(walk.workMs / (base.copyMs + base.hashMs)).toFixed(2)}×)`
    : '';
  ctx.note(
    `end to end: the operator's calls took ${(walk.workMs / 1000).toFixed(1)} s (${jobs}; the dwells that give each phase at least ${ctx.quick ? 2 : 5} s of writes not counted)${e2e}; new holds ${r.rowsNew} entities at the end`,
  );
}
