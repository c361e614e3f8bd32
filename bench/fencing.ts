import type pg from 'pg';
import type { Store } from '../src/index.js';
import { postgresStore } from '../src/postgres/index.js';
import type { PutOptions } from '../src/core/store.js';
import { pgPool, pgUsers, SCHEMA, usersMapping, type BenchUser } from './data.js';
import type { BenchCase, BenchContext } from './harness.js';

const TABLE = 'users_fenced';

let pool: pg.Pool | undefined;
let store: Store<bigint, BenchUser> | undefined;

function user(id: number): BenchUser {
  return {
    id: BigInt(id),
    email: `user${id}@example.com`,
    name: `Name ${id}`,
    bio: 'x'.repeat(200),
    prefs: { theme: 'dark', n: id % 100 },
    createdAt: new Date(Date.UTC(2020, 0, 1)),
    updatedAt: new Date(Date.UTC(2024, 0, 1)),
  };
}

/** Sequential single-row puts (each its own transaction); resolves the mean µs per put. */
async function puts(ctx: BenchContext, options?: PutOptions): Promise<number> {
  const s = store as Store<bigint, BenchUser>;
  const n = ctx.quick ? 500 : 5000;
  const t0 = performance.now();
  for (let i = 1; i <= n; i++) await s.put(user(i), options);
  return ((performance.now() - t0) * 1000) / n;
}

/**
 * What a fence costs a write: one `SELECT … FOR SHARE` of the fence row at
 * the start of the write's transaction (docs/decisions/0007).
 */
export const fencedPut: BenchCase = {
  name: 'fenced put',
  what: 'mean time of a PostgreSQL `put` given `fence` (one single-row transaction after another, over 5 000 keys; the row count does not apply)',
  baselineWhat: 'the same `put` without `fence`',
  target: 1.3,
  unit: 'µs',
  async setup(ctx) {
    pool = await pgPool(ctx.pgUrl);
    await pgUsers(pool, TABLE, 0);
    await pool.query(`DROP TABLE IF EXISTS ${SCHEMA}.${TABLE}_midair_fences`);
    store = postgresStore<bigint, BenchUser>(pool, usersMapping(TABLE, SCHEMA));
    await store.setup();
    await store.fencing?.raiseFence({ migration: 'bench', epoch: 3 });
    // Warm both paths (prepared plans, the pool's connections) before anything is timed.
    await puts({ ...ctx, quick: true });
    await puts({ ...ctx, quick: true }, { fence: { migration: 'bench', epoch: 3 } });
    return true;
  },
  midair: async (ctx) => puts(ctx, { fence: { migration: 'bench', epoch: 3 } }),
  baseline: async (ctx) => puts(ctx),
  async teardown() {
    await pool?.end();
    pool = undefined;
    store = undefined;
  },
};
