import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { defineMigration, type Migration, type Store } from '../src/index.js';
import { postgresStore } from '../src/postgres/index.js';
import { sqliteControlStore } from '../src/sqlite/index.js';
import { pgPool, pgUsers, SCHEMA, usersMapping, type BenchUser } from './data.js';
import type { BenchCase, BenchContext } from './harness.js';

const OLD = 'users_safe_old';
const NEW = 'users_safe_new';

interface Rig {
  pool: pg.Pool;
  db: Database.Database;
  dir: string;
  old: Store<bigint, BenchUser>;
  neu: Store<bigint, BenchUser>;
  migration: Migration<bigint, BenchUser>;
}
let rig: Rig | undefined;

function user(id: number, n: number): BenchUser {
  return {
    id: BigInt(id),
    email: `user${id}@example.com`,
    name: `Name ${id} ${n}`,
    bio: 'x'.repeat(200),
    prefs: { theme: 'dark', n },
    createdAt: new Date(Date.UTC(2020, 0, 1)),
    updatedAt: new Date(Date.UTC(2024, 0, 1)),
  };
}

const count = (ctx: BenchContext): number => (ctx.quick ? 300 : 3000);

/** Sequential writes; resolves the mean µs per write. */
async function timed(ctx: BenchContext, write: (i: number) => Promise<void>): Promise<number> {
  const n = count(ctx);
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) await write(i);
  return ((performance.now() - t0) * 1000) / n;
}

let round = 0;

/**
 * What crash safety and fencing cost a write where both stores are written
 * and the client waits for both (`shadow-read`): the intent queued in the
 * control store before the first write and cleared after the second, the
 * fence read in each store's transaction, the write ticket — against the two
 * writes the phase needs made directly (old `put`, then new synced from old).
 */
export const crashSafeWrite: BenchCase = {
  name: 'crash-safe write',
  what: 'mean time of a `put` through the repository in shadow-read: PostgreSQL old and new, the SQLite control store (the embedded default) on local disk; intent, fences, both writes',
  baselineWhat: 'the same two writes made directly: old `put`, then new `syncKey` from old',
  target: 1.5,
  unit: 'µs',
  async setup(ctx) {
    const pool = await pgPool(ctx.pgUrl);
    await pgUsers(pool, OLD, 0);
    await pgUsers(pool, NEW, 0);
    for (const t of [OLD, NEW]) await pool.query(`DROP TABLE IF EXISTS ${SCHEMA}.${t}_midair_fences`);
    const old = postgresStore<bigint, BenchUser>(pool, usersMapping(OLD, SCHEMA));
    const neu = postgresStore<bigint, BenchUser>(pool, usersMapping(NEW, SCHEMA));
    await old.setup();
    await neu.setup();
    const dir = mkdtempSync(join(tmpdir(), 'midair-bench-'));
    const db = new Database(join(dir, 'control.db'));
    db.pragma('journal_mode = WAL');
    const migration = defineMigration<bigint, BenchUser>({
      name: 'bench-safety',
      old,
      new: neu,
      control: sqliteControlStore(db),
      repair: { enabled: false },
      autoHalt: false,
    });
    await migration.start();
    await migration.advance({ reason: 'bench: dual writes' });
    await migration.advance({ reason: 'bench: shadow reads' });
    rig = { pool, db, dir, old, neu, migration };
    ctx.note(
      'control store: SQLite in WAL mode on local disk; the intent costs one control-store write before the first store write and one after the second',
    );
    return true;
  },
  midair: async (ctx) => {
    const r = rig as Rig;
    const repo = r.migration.repository();
    const n = ++round;
    return timed(ctx, async (i) => repo.put(user(i, n)));
  },
  baseline: async (ctx) => {
    const r = rig as Rig;
    const n = ++round;
    return timed(ctx, async (i) => {
      const e = user(i, n);
      await r.old.put(e);
      await r.neu.syncKey(e.id, () => r.old.get(e.id));
    });
  },
  async teardown() {
    const r = rig;
    rig = undefined;
    if (!r) return;
    await r.migration.close();
    await r.pool.end();
    r.db.close();
    rmSync(r.dir, { recursive: true, force: true });
  },
};
