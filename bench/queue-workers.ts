import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type pg from 'pg';
import { defineMigration } from '../src/index.js';
import { bullmqQueue, queueName } from '../src/queue/index.js';
import { dropControl, openSides, type SidesSpec } from './app-sides.js';
import { pgPool, pgUsers } from './data.js';
import type { BenchCase, BenchContext } from './harness.js';
import type { QueueWorkerSpec } from './queue-worker-child.js';

const QUEUE_URL = process.env.MIDAIR_BENCH_QUEUE_URL ?? 'redis://127.0.0.1:6379';
const CHILD = fileURLToPath(new URL('./queue-worker-child.ts', import.meta.url));
const PREFIX = 'midair-bench';
const CONTROL = 'qbench_';

let pool: pg.Pool | undefined;

function sidesOf(ctx: BenchContext): SidesSpec {
  return {
    pgUrl: ctx.pgUrl,
    mysqlUrl: ctx.mysqlUrl,
    old: { engine: 'postgres', table: 'users_a' },
    new: { engine: 'postgres', table: 'users_q' },
    controlPrefix: CONTROL,
  };
}

/** Starts `n` worker processes and resolves once each listens. */
async function startWorkers(ctx: BenchContext, n: number): Promise<ChildProcess[]> {
  const spec: QueueWorkerSpec = {
    sides: sidesOf(ctx),
    migration: 'qbench',
    queueUrl: QUEUE_URL,
    prefix: PREFIX,
    connections: 4,
  };
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ['--import', 'jiti/register', CHILD, JSON.stringify(spec)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(
    children.map(
      async (c) =>
        new Promise<void>((resolve, reject) => {
          c.once('message', () => resolve());
          c.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it listened`)));
        }),
    ),
  );
  return children;
}

async function stopWorkers(children: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      async (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** A queued backfill into an empty table, worked by `workers` processes; resolves its wall time (ms). */
async function queuedBackfill(ctx: BenchContext, workers: number): Promise<number> {
  const p = (pool ??= await pgPool(ctx.pgUrl));
  await pgUsers(p, 'users_q', 0);
  await dropControl(p, CONTROL);
  const u = new URL(QUEUE_URL);
  const q = new Queue(queueName('qbench', PREFIX), {
    connection: { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null },
  });
  await q.obliterate({ force: true });
  await q.close();
  const sides = await openSides(sidesOf(ctx), 8);
  await sides.old.setup();
  await sides.new.setup();
  await sides.control.setup();
  const children = await startWorkers(ctx, workers);
  const queue = await bullmqQueue(QUEUE_URL, { prefix: PREFIX });
  try {
    const m = defineMigration({ name: 'qbench', old: sides.old, new: sides.new, control: sides.control });
    await m.advance({ reason: 'bench' });
    const t0 = performance.now();
    const r = await m.backfill({ queue, ranges: 64, chunkSize: 5000, maxChunkSize: 20_000 });
    const t = performance.now() - t0;
    await m.close();
    if (r.status !== 'complete' || r.rowsRead !== ctx.rows)
      throw new Error(`queued backfill ${r.status}, ${r.rowsRead} rows: ${r.error?.message ?? ''}`);
    return t;
  } finally {
    await queue.close();
    await stopWorkers(children);
    await sides.close();
  }
}

function queuedCase(workers: number, target: number): BenchCase {
  return {
    name: `queued backfill PostgreSQL → PostgreSQL, ${workers} workers`,
    what: `\`backfill --queue\` into an empty table: 64 range jobs on BullMQ (Redis), ${workers} \`midair worker\` processes, then the prune pass in the starting process`,
    baselineWhat: 'the same with 1 worker process',
    target,
    unit: 'ms',
    maxRepeats: 2,
    async setup(ctx) {
      pool ??= await pgPool(ctx.pgUrl);
      await pgUsers(pool, 'users_a', ctx.rows);
      return true;
    },
    async midair(ctx) {
      return queuedBackfill(ctx, workers);
    },
    async baseline(ctx) {
      return queuedBackfill(ctx, 1);
    },
    async teardown() {
      await pool?.end();
      pool = undefined;
    },
  };
}

export const queuedTwo = queuedCase(2, 0.6);
export const queuedFour = queuedCase(4, 0.35);
