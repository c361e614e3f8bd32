import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { postgresControlStore, postgresStore } from '../../src/postgres/index.js';
import { col, sqlMapping, type ControlStore, type Store } from '../../src/index.js';
import { Queue } from 'bullmq';
import { queueName, type WorkerJobEvent } from '../../src/queue/index.js';
import { CLI, midair, writeUsersConfig } from '../cli/cli-support.js';
import type { RangeLease } from '../../src/control/range-leases.js';
import { SERVICE_URLS } from '../support/services.js';

export interface User {
  id: bigint;
  email: string;
  name: string;
}

/** A `midair worker` process, its JSON lines as they come. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly events: WorkerJobEvent[];
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

export function startWorker(dir: string, args: readonly string[]): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--json', ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: WorkerJobEvent[] = [];
  let err = '';
  let buffer = '';
  let isReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => (isReady = resolve));
  child.stdout?.on('data', (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const parsed = JSON.parse(line) as { ready?: unknown; job?: WorkerJobEvent };
      if (parsed.ready) isReady();
      if (parsed.job) events.push(parsed.job);
    }
  });
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, pid: child.pid ?? -1, events, ready, exited, stderr: () => err };
}

/** Polls `check` until it holds (a deadline only stops a hung test; no assertion rests on it). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The users migration on PostgreSQL (old `users`, new `users` + `user_profiles` in a schema of their own), N users. */
export interface QueueWorld {
  readonly dir: string;
  readonly ns: string;
  readonly old: Store<bigint, User>;
  readonly new: Store<bigint, User>;
  readonly control: ControlStore;
  readonly pool: pg.Pool;
  /** old and new side by side: rows that differ (by id, email and name), and both counts. */
  compare(): Promise<{ differing: number; old: number; new: number }>;
  close(): Promise<void>;
}

/** `backfill` and `verify`: the config's settings for each (object literals as text). */
export async function queueWorld(
  users: number,
  backfill: string,
  verify = '{ segmentRows: 500 }',
): Promise<QueueWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-queue-'));
  const ns = `midair_${inject('runId')}_q${Math.floor(Math.random() * 1e6).toString(36)}`;
  const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 8 });
  await pool.query(`CREATE SCHEMA ${ns}`);
  await pool.query(`CREATE SCHEMA ${ns}_new`);
  await pool.query(
    `CREATE TABLE ${ns}.users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL, name VARCHAR(200) NOT NULL)`,
  );
  await pool.query(`CREATE TABLE ${ns}_new.users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL)`);
  await pool.query(`CREATE TABLE ${ns}_new.user_profiles (user_id BIGINT PRIMARY KEY, full_name VARCHAR(200))`);
  await pool.query(
    `INSERT INTO ${ns}.users SELECT g, 'u' || g || '@example.com', 'seed ' || g FROM generate_series(1, ${users}) g`,
  );
  const controlUrl = `${SERVICE_URLS.postgres}${SERVICE_URLS.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${ns}`)}`;
  const file = writeUsersConfig(
    dir,
    { control: controlUrl, old: SERVICE_URLS.postgres, new: SERVICE_URLS.postgres },
    { old: ns, new: `${ns}_new` },
  );
  const settings = readFileSync(file, 'utf8').replace(
    'verify: { segmentRows: 500 }',
    `backfill: ${backfill}, verify: ${verify}`,
  );
  writeFileSync(file, settings);
  const old = postgresStore<bigint, User>(
    pool,
    sqlMapping<User>({
      key: 'id',
      tables: [
        {
          table: 'users',
          schema: ns,
          columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') },
        },
      ],
    }),
  );
  const neu = postgresStore<bigint, User>(
    pool,
    sqlMapping<User>({
      key: 'id',
      tables: [
        { table: 'users', schema: `${ns}_new`, columns: { id: col.bigint('id'), email: col.text('email') } },
        {
          table: 'user_profiles',
          schema: `${ns}_new`,
          columns: { id: col.bigint('user_id'), name: col.text('full_name') },
        },
      ],
    }),
  );
  // The application's side sets its stores up (midair's tombstone and fence tables beside them), as at its start.
  await old.setup();
  await neu.setup();
  const controlPool = new pg.Pool({ connectionString: controlUrl, max: 4 });
  const control = postgresControlStore(controlPool);
  return {
    dir,
    ns,
    old,
    new: neu,
    control,
    pool,
    async compare() {
      const n = async (sql: string): Promise<number> => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);
      const joined = `SELECT u.id, u.email, p.full_name AS name FROM ${ns}_new.users u LEFT JOIN ${ns}_new.user_profiles p ON p.user_id = u.id`;
      const differing = await n(
        `SELECT count(*) AS n FROM ((SELECT id, email, name FROM ${ns}.users EXCEPT ${joined}) UNION ALL (${joined} EXCEPT SELECT id, email, name FROM ${ns}.users)) d`,
      );
      return {
        differing,
        old: await n(`SELECT count(*) AS n FROM ${ns}.users`),
        new: await n(`SELECT count(*) AS n FROM ${ns}_new.users`),
      };
    },
    async close() {
      await controlPool.end();
      await pool.query(`DROP SCHEMA ${ns} CASCADE`);
      await pool.query(`DROP SCHEMA ${ns}_new CASCADE`);
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Removes the users migration's queue under `prefix` (a test's own), jobs and all. */
export async function dropQueue(url: string, prefix: string): Promise<void> {
  const u = new URL(url);
  const q = new Queue(queueName('users', prefix), {
    connection: { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null },
  });
  await q.obliterate({ force: true });
  await q.close();
}

/** A suite's worlds and worker processes, every one killed and dropped after the suite (queue, schemas, files). */
export function queueFixtures(): { readonly worlds: QueueWorld[]; readonly workers: WorkerProcess[] } {
  const worlds: QueueWorld[] = [];
  const workers: WorkerProcess[] = [];
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    for (const w of worlds) {
      await dropQueue(SERVICE_URLS.redis, w.ns);
      await w.close();
    }
  });
  return { worlds, workers };
}

/** Whether `owner` (a lease's holder) is a job of the worker process `w`. */
export const ownedBy = (w: WorkerProcess, owner: string | undefined): boolean => owner?.includes(`:${w.pid}:`) === true;

/**
 * The faults of a three-worker run: once `rows` rows are done, `killed` is
 * SIGKILLed; then `stopped` is SIGSTOPped while it holds a live lease on an
 * unfinished range, and SIGCONTed only once another worker took that range
 * over (a new token). Resolves the range as `stopped` held it.
 */
export async function killAndStall(
  ranges: () => Promise<RangeLease[]>,
  rows: number,
  killed: WorkerProcess,
  stopped: WorkerProcess,
): Promise<RangeLease> {
  await waitFor(`${rows} rows done`, async () => (await ranges()).reduce((s, r) => s + r.rows, 0) >= rows);
  killed.child.kill('SIGKILL');
  // Stopped while it holds a live lease on an unfinished range: its BullMQ lock and its lease both run out.
  const held = await waitFor('the second worker to hold a range', async () =>
    (await ranges()).find((r) => !r.complete && ownedBy(stopped, r.owner) && r.leasedUntil.getTime() > Date.now()),
  );
  stopped.child.kill('SIGSTOP');
  await waitFor(
    'the stopped worker’s range to change hands',
    async () => {
      const now = (await ranges()).find((r) => r.rangeId === held.rangeId);
      return now !== undefined && now.token > held.token && !ownedBy(stopped, now.owner);
    },
    120_000,
  );
  stopped.child.kill('SIGCONT');
  return held;
}

/** A started run's side of a test: the migration advanced past old-only (no application follows it), and `n` workers listening. */
export async function startFleet(
  world: QueueWorld,
  workers: WorkerProcess[],
  n: number,
  args: readonly string[],
): Promise<{
  readonly fleet: WorkerProcess[];
  readonly queue: string[];
  readonly cli: (...a: string[]) => ReturnType<typeof midair>;
}> {
  const cli = async (...a: string[]) => midair(world.dir, a);
  const queue = ['--queue', SERVICE_URLS.redis, '--queue-prefix', world.ns];
  const advanced = await cli('phase', 'advance', '--force', '--reason', 'test: no application');
  if (advanced.code !== 0) throw new Error(`phase advance: ${advanced.stderr}`);
  const fleet = Array.from({ length: n }, () => startWorker(world.dir, [...queue, ...args]));
  workers.push(...fleet);
  await Promise.all(fleet.map(async (w) => w.ready));
  return { fleet, queue, cli };
}
