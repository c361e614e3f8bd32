import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { defineMigration, diffEntities, memoryControlStore, memoryStore, type Store } from '../src/index.js';
import { mysqlStore } from '../src/mysql/index.js';
import { postgresStore } from '../src/postgres/index.js';
import { percentile } from '../src/demo/load.js';
import { mysqlUsers, pgPool, pgUsers, SCHEMA, usersMapping, type BenchUser } from './data.js';
import { fencedPut } from './fencing.js';
import { crashSafeWrite } from './crash-safety.js';
import type { BenchCase, BenchContext } from './harness.js';
import { liveTraffic } from './live-traffic.js';
import { backfillUnderWrites } from './backfill-under-writes.js';
import { wholeMigrationUnderLoad } from './whole-migration.js';
import { backfillMemory } from './backfill-memory.js';
import { repositoryOverhead } from './overhead.js';
import { metricsCost } from './metrics-cost.js';
import { backfillRedis } from './redis-backfill.js';
import { queuedFour, queuedTwo } from './queue-workers.js';

const ms = (t0: number): number => performance.now() - t0;

/** Runs a program; resolves its output, rejects with its error output when it fails. */
async function run(command: string, args: readonly string[]): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve({ stdout: out }) : reject(new Error(`${command} exited ${code}: ${err.slice(0, 300)}`)),
    );
  });
}

/** Runs a shell pipeline; resolves its wall time in ms. */
async function shell(command: string): Promise<number> {
  const t0 = performance.now();
  await run('bash', ['-o', 'pipefail', '-c', command]);
  return ms(t0);
}

/** Streams both stores in key order and compares every entity in JS: what verification is measured against. */
async function compareInJs(a: Store<bigint, BenchUser>, b: Store<bigint, BenchUser>): Promise<number> {
  const ia = a.scan({ chunkSize: 5000 })[Symbol.asyncIterator]();
  const ib = b.scan({ chunkSize: 5000 })[Symbol.asyncIterator]();
  let differing = 0;
  let bufB: BenchUser[] = [];
  for (;;) {
    const x = await ia.next();
    if (x.done) break;
    for (const e of x.value) {
      if (bufB.length === 0) {
        const y = await ib.next();
        bufB = y.done ? [] : y.value;
      }
      const other = bufB.shift();
      if (!other || other.id !== e.id || diffEntities(e, other).length > 0) differing++;
    }
  }
  return differing;
}

let pool: pg.Pool | undefined;
const pgp = async (ctx: BenchContext): Promise<pg.Pool> => (pool ??= await pgPool(ctx.pgUrl));
const pgStore = async (ctx: BenchContext, table: string): Promise<Store<bigint, BenchUser>> =>
  postgresStore<bigint, BenchUser>(await pgp(ctx), usersMapping(table, SCHEMA));

export async function closeShared(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

/** Ten keys spread over the table, changed in b only. */
async function scatterDifferences(ctx: BenchContext, table: string): Promise<number[]> {
  const ids = Array.from({ length: 10 }, (_, i) => Math.floor(((i + 0.5) * ctx.rows) / 10));
  await (
    await pgp(ctx)
  ).query(`UPDATE ${SCHEMA}.${table} SET name = name || ' (changed)' WHERE id = ANY($1::bigint[])`, [ids]);
  return ids;
}

const verifyDiff: BenchCase = {
  name: 'verify finds 10 differences',
  what: '`verify` (full) PostgreSQL vs PostgreSQL, 10 scattered rows differ',
  baselineWhat: 'stream both tables and compare every entity in JS',
  target: 0.2,
  unit: 'ms',
  async setup(ctx) {
    const p = await pgp(ctx);
    await pgUsers(p, 'users_a', ctx.rows);
    await pgUsers(p, 'users_b', 0);
    await p.query(`INSERT INTO ${SCHEMA}.users_b SELECT * FROM ${SCHEMA}.users_a`);
    await p.query(`ANALYZE ${SCHEMA}.users_b`);
    await scatterDifferences(ctx, 'users_b');
    return true;
  },
  async midair(ctx) {
    const m = defineMigration({
      name: 'bench',
      old: await pgStore(ctx, 'users_a'),
      new: await pgStore(ctx, 'users_b'),
      control: memoryControlStore(),
    });
    const t0 = performance.now();
    const r = await m.verify({ rechecks: 0 });
    const t = ms(t0);
    if (r.different.total !== 10) throw new Error(`verify found ${r.different.total} differences, not 10`);
    return t;
  },
  async baseline(ctx) {
    const t0 = performance.now();
    const n = await compareInJs(await pgStore(ctx, 'users_a'), await pgStore(ctx, 'users_b'));
    const t = ms(t0);
    if (n !== 10) throw new Error(`the JS compare found ${n} differences, not 10`);
    return t;
  },
};

let maria: mysql.Pool | undefined;
const verifyEqualMaria: BenchCase = {
  name: 'verify equal tables, MariaDB vs PostgreSQL',
  what: '`verify` (full), equal tables',
  baselineWhat: 'the slower side’s in-database row-hash scan alone (sum of per-row MD5 slices)',
  target: 1.5,
  unit: 'ms',
  async setup(ctx) {
    const p = await pgp(ctx);
    await pgUsers(p, 'users_a', ctx.rows);
    maria = await mysqlUsers(ctx.mysqlUrl, p, 'users_m', ctx.rows);
    ctx.note(
      'MariaDB keeps JSON as the text it was given and cannot order its keys in SQL: its side builds the canonical text of every other field in SQL and JS puts `prefs` in canonical form between those pieces (decision 0018); PostgreSQL hashes in SQL. Different engines, so the canonical hash, not the pair hash.',
    );
    return true;
  },
  async midair(ctx) {
    const m = defineMigration({
      name: 'bench',
      old: mysqlStore<bigint, BenchUser>(maria as mysql.Pool, usersMapping('users_m')),
      new: await pgStore(ctx, 'users_a'),
      control: memoryControlStore(),
    });
    const t0 = performance.now();
    const r = await m.verify({ rechecks: 0 });
    const t = ms(t0);
    if (r.status !== 'equal') throw new Error(`verify said ${r.status}`);
    return t;
  },
  async baseline(ctx) {
    const t0 = performance.now();
    await (
      await pgp(ctx)
    ).query(`SELECT count(*), sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint) FROM ${SCHEMA}.users_a t`);
    const pgMs = ms(t0);
    const t1 = performance.now();
    await (maria as mysql.Pool).query(
      `SELECT COUNT(*), SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', id, email, name, bio, prefs, created_at, updated_at)), 1, 15), 16, 10) AS UNSIGNED)) FROM users_m`,
    );
    return Math.max(pgMs, ms(t1));
  },
  async teardown() {
    await maria?.end();
    maria = undefined;
  },
};

/** A backfill of `old` into a new empty PostgreSQL table; resolves its wall time in ms (and checks every row arrived). */
async function timedBackfill(ctx: BenchContext, old: Store<bigint, BenchUser>, table: string): Promise<number> {
  await pgUsers(await pgp(ctx), table, 0);
  const target = await pgStore(ctx, table);
  await old.setup(); // both stores hold what midair keeps beside the table (tombstones, the fence)
  await target.setup();
  const m = defineMigration({ name: 'bench', old, new: target, control: memoryControlStore() });
  await m.advance({ reason: 'bench' });
  const t0 = performance.now();
  const r = await m.backfill({ chunkSize: 5000, maxChunkSize: 20_000 });
  const t = ms(t0);
  await m.close();
  if (r.status !== 'complete' || r.inserted !== ctx.rows)
    throw new Error(`backfill ${r.status}, ${r.inserted} inserted`);
  return t;
}

const backfillPg: BenchCase = {
  name: 'backfill PostgreSQL → PostgreSQL',
  what: '`backfill` into an empty table (sync mode: old’s rows read ahead by range as binary COPY tuples, written under new’s key locks where new holds nothing; the copy pass watches for keys to prune, so the prune walks only the tail)',
  baselineWhat: '`psql COPY … TO STDOUT (FORMAT binary) | psql COPY … FROM STDIN (FORMAT binary)`',
  target: 2,
  unit: 'ms',
  async setup(ctx) {
    await pgUsers(await pgp(ctx), 'users_a', ctx.rows);
    return true;
  },
  async midair(ctx) {
    return timedBackfill(ctx, await pgStore(ctx, 'users_a'), 'users_c');
  },
  async baseline(ctx) {
    await pgUsers(await pgp(ctx), 'users_d', 0);
    const url = ctx.pgUrl;
    return shell(
      `psql "${url}" -qc "COPY ${SCHEMA}.users_a TO STDOUT (FORMAT binary)" | psql "${url}" -qc "COPY ${SCHEMA}.users_d FROM STDIN (FORMAT binary)"`,
    );
  },
};

/** Whether a command is on the PATH. */
async function have(command: string): Promise<boolean> {
  return shell(`command -v ${command}`).then(
    () => true,
    () => false,
  );
}

const backfillMaria: BenchCase = {
  name: 'backfill MariaDB → PostgreSQL',
  what: '`backfill` into an empty PostgreSQL table (sync mode: old’s entities read ahead by range, encoded for COPY and written under new’s key locks where new holds nothing, two batches at once; the prune walks only the tail)',
  baselineWhat:
    'pgloader (its Debian package; data only, into the same empty table, 10 000-row batches: its default batches exhaust its heap at 1 M rows)',
  target: 0.5,
  unit: 'ms',
  async setup(ctx) {
    if (!(await have('pgloader'))) return 'pgloader is not installed (Debian: apt-get install pgloader)';
    const p = await pgp(ctx);
    await pgUsers(p, 'users_a', ctx.rows);
    maria = await mysqlUsers(ctx.mysqlUrl, p, 'users_m', ctx.rows);
    return true;
  },
  async midair(ctx) {
    return timedBackfill(ctx, mysqlStore<bigint, BenchUser>(maria as mysql.Pool, usersMapping('users_m')), 'users_e');
  },
  async baseline(ctx) {
    const p = await pgp(ctx);
    await pgUsers(p, 'users_m', 0);
    const from = new URL(ctx.mysqlUrl);
    from.pathname = `/${SCHEMA}`;
    const dir = mkdtempSync(join(tmpdir(), 'midair-bench-'));
    const file = join(dir, 'load.pgl');
    // Its default batches (100 000 rows prefetched) exhaust its heap at 1 M rows of this table: 10 000 load them all.
    writeFileSync(
      file,
      `LOAD DATABASE FROM ${from.toString()} INTO ${ctx.pgUrl}\n  WITH data only, truncate, prefetch rows = 10000, batch rows = 10000\n  INCLUDING ONLY TABLE NAMES MATCHING 'users_m';\n`,
    );
    try {
      const t = await shell(`pgloader --quiet "${file}"`);
      const { rows } = await p.query<{ n: string }>(`SELECT count(*) AS n FROM ${SCHEMA}.users_m`);
      if (Number(rows[0]?.n) !== ctx.rows) throw new Error(`pgloader loaded ${rows[0]?.n} rows, not ${ctx.rows}`);
      return t;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  async teardown() {
    await maria?.end();
    maria = undefined;
  },
};

/** A store whose every call first waits `delayMs` (a slow replica, a far region). */
function slowed<K extends bigint, E extends object>(store: Store<K, E>, delayMs: number): Store<K, E> {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop !== 'get' && prop !== 'getMany') return fn;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return fn(...args);
      };
    },
  });
}

interface Item {
  id: bigint;
  v: string;
}

/** Two stores holding the same rows, and how to let go of them. */
interface StorePair {
  readonly old: Store<bigint, object>;
  readonly neu: Store<bigint, object>;
  readonly close: () => Promise<void>;
}

/** Two memory stores holding the same 1 000 items, keys 0–999. */
async function memoryPair(): Promise<{
  old: Store<bigint, object>;
  neu: Store<bigint, object>;
  close(): Promise<void>;
}> {
  const old = memoryStore<bigint, Item>({ key: 'id' });
  const neu = memoryStore<bigint, Item>({ key: 'id' });
  for (let i = 0n; i < 1000n; i++) {
    await old.put({ id: i, v: `v${i}` });
    await neu.put({ id: i, v: `v${i}` });
  }
  return { old, neu, close: async () => Promise.resolve() };
}

/** Two PostgreSQL tables holding the same 1 000 users (keys 1–1 000; key 0 is absent in both), each store on a pool of its own. */
async function pgPair(ctx: BenchContext): Promise<StorePair> {
  const [a, b] = [await pgPool(ctx.pgUrl), await pgPool(ctx.pgUrl)];
  await pgUsers(a, 'shadow_a', 1000);
  await pgUsers(a, 'shadow_b', 1000);
  const old = postgresStore<bigint, BenchUser>(a, usersMapping('shadow_a', SCHEMA));
  const neu = postgresStore<bigint, BenchUser>(b, usersMapping('shadow_b', SCHEMA));
  await old.setup();
  await neu.setup();
  return {
    old,
    neu,
    close: async () => {
      await Promise.all([a.end(), b.end()]);
    },
  };
}

async function servedP99(
  phase: 'old-only' | 'shadow-read',
  n: number,
  delayMs = 50,
  note?: (text: string) => void,
  stores: () => Promise<StorePair> = memoryPair,
): Promise<number> {
  const { old, neu, close } = await stores();
  const m = await defineMigration({
    name: 'bench',
    old,
    new: slowed(neu, delayMs),
    control: memoryControlStore(),
    autoHalt: false,
    shadow: { maxInFlight: 10_000 },
  }).start();
  while (m.state.phase !== phase) await m.advance({ reason: 'bench' });
  const repo = m.repository();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    // Each call arrives in a turn of the event loop of its own, as requests do, so background work runs between them.
    await new Promise((resolve) => setImmediate(resolve));
    const t0 = performance.now();
    await repo.get(BigInt(i % 1000));
    times.push(ms(t0));
  }
  await m.close();
  await close();
  if (phase === 'shadow-read' && m.stats.comparisons + m.stats.comparisonsDropped !== n)
    throw new Error(`${m.stats.comparisons} comparisons ran for ${n} reads`);
  const us = (p: number): string => (percentile(times, p) * 1000).toFixed(1);
  note?.(
    `${phase}, new +${delayMs} ms: p50 ${us(50)} µs, p99 ${us(99)} µs, max ${us(100)} µs; ${m.stats.comparisons} comparisons, ${m.stats.comparisonsDropped} dropped`,
  );
  return percentile(times, 99) * 1000; // µs
}

const shadowSlow: BenchCase = {
  name: 'shadow read, new store 50 ms slower',
  what: 'served p99 of 20 000 `get` calls over 1 000 keys, one per turn of the event loop, in shadow-read (memory stores, new +50 ms, every read compared; the row count does not apply)',
  baselineWhat: 'served p99 of the same `get` in old-only',
  target: 1.05,
  unit: 'µs',
  async setup(ctx) {
    // The same with a new store as fast as old: what holding comparisons in flight for 50 ms costs the served calls.
    await servedP99('shadow-read', ctx.quick ? 2000 : 20_000, 0, ctx.note);
    return true;
  },
  midair: async (ctx) => servedP99('shadow-read', ctx.quick ? 2000 : 20_000, 50, ctx.note),
  baseline: async (ctx) => servedP99('old-only', ctx.quick ? 2000 : 20_000, 50, ctx.note),
};

const shadowSlowPg: BenchCase = {
  name: 'shadow read on PostgreSQL, new store 50 ms slower',
  what: 'served p99 of `get` calls over 1 000 keys (20 000; 2 000 quick), one per turn of the event loop, in shadow-read (PostgreSQL stores on a pool each, new +50 ms, every read compared; the row count does not apply)',
  baselineWhat: 'served p99 of the same `get` in old-only: a real round trip to old',
  target: 1.05,
  unit: 'µs',
  setup: async () => Promise.resolve(true),
  midair: async (ctx) => servedP99('shadow-read', ctx.quick ? 2000 : 20_000, 50, ctx.note, () => pgPair(ctx)),
  baseline: async (ctx) => servedP99('old-only', ctx.quick ? 2000 : 20_000, 50, ctx.note, () => pgPair(ctx)),
};

export const CASES: readonly BenchCase[] = [
  backfillPg,
  backfillMaria,
  backfillMemory,
  backfillRedis,
  queuedTwo,
  queuedFour,
  verifyEqualMaria,
  verifyDiff,
  repositoryOverhead,
  metricsCost,
  shadowSlow,
  shadowSlowPg,
  liveTraffic,
  backfillUnderWrites,
  wholeMigrationUnderLoad,
  fencedPut,
  crashSafeWrite,
];
