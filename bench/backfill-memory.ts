import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { pgPool, pgUsers, SCHEMA } from './data.js';
import type { BenchCase, BenchContext } from './harness.js';

/**
 * Peak resident memory of a backfill PostgreSQL → PostgreSQL of 10× the
 * rows (5× where the server's disk cannot hold 10× twice over: the source
 * and its copy) against a backfill of the rows, each in a process of its own
 * (bench/rss-child.ts).
 */

let pool: pg.Pool | undefined;
const pgp = async (ctx: BenchContext): Promise<pg.Pool> => (pool ??= await pgPool(ctx.pgUrl));

/** How many times the rows the big run copies: 10, or 5 with the reason. */
let factor = 10;

/** Runs one backfill in a child process; resolves its peak RSS in MB. */
async function backfillRss(ctx: BenchContext, source: string, rows: number): Promise<number> {
  const child = fileURLToPath(new URL('./rss-child.ts', import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'jiti/register', child, ctx.pgUrl, source, 'users_rss', String(rows)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`rss-child exited ${code}: ${err.slice(0, 300)}`)),
    );
  });
  const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { peakMb: number; startMb: number; ms: number };
  ctx.note(`${rows} rows: peak ${r.peakMb} MB (${r.startMb} MB at start), ${Math.round(rows / (r.ms / 1000))} rows/s`);
  return r.peakMb;
}

/**
 * The factor the server's disk allows: the big table and its copy (each
 * `factor` × the 1× table's size), and room for the WAL twice over, must fit
 * in the free space of the server's data directory with 10 % to spare.
 */
async function allowedFactor(ctx: BenchContext): Promise<{ factor: number; why?: string }> {
  const { rows } = await (
    await pgp(ctx)
  ).query<{ one: string; dir: string; wal: string }>(
    `SELECT pg_total_relation_size('${SCHEMA}.users_a') AS one, current_setting('data_directory') AS dir,
       pg_size_bytes(current_setting('max_wal_size')) AS wal`,
  );
  const one = Number(rows[0]?.one ?? 0);
  const dir = rows[0]?.dir ?? '';
  const need = (n: number): number => (2 * n * one + 2 * Number(rows[0]?.wal ?? 0)) * 1.1;
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (!existsSync(dir))
    return {
      factor: 5,
      why: `5× the rows: the server's data directory is not on this machine, so its free disk is unknown`,
    };
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  if (free >= need(10)) return { factor: 10 };
  return {
    factor: 5,
    why: `5× the rows: 10× needs about ${gib(need(10))} free on the server's disk (the table and its copy), ${gib(free)} are`,
  };
}

export const backfillMemory: BenchCase = {
  name: 'backfill memory',
  what: 'peak RSS of a process running `backfill` PostgreSQL → PostgreSQL of 10× the rows (5× where the server’s disk cannot hold it; the notes say)',
  baselineWhat: 'peak RSS of the same backfill of the rows',
  target: 1.2,
  unit: 'MB',
  maxRepeats: 1,
  async setup(ctx) {
    const p = await pgp(ctx);
    await pgUsers(p, 'users_big', 0);
    await pgUsers(p, 'users_a', ctx.rows);
    const allowed = await allowedFactor(ctx);
    factor = allowed.factor;
    if (allowed.why) ctx.note(allowed.why);
    await pgUsers(p, 'users_big', ctx.rows * factor);
    await pgUsers(p, 'users_tiny', 1000);
    // A first run fills the loader's transpile cache, so no measured run pays for compiling.
    await backfillRss({ ...ctx, note: () => undefined }, 'users_tiny', 1000);
    return true;
  },
  midair: async (ctx) => backfillRss(ctx, 'users_big', ctx.rows * factor),
  baseline: async (ctx) => backfillRss(ctx, 'users_a', ctx.rows),
  async teardown(ctx) {
    await pgUsers(await pgp(ctx), 'users_big', 0);
    await pgUsers(await pgp(ctx), 'users_tiny', 0);
    await pool?.end();
    pool = undefined;
  },
};
