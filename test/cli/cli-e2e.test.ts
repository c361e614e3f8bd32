import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  col,
  defineMigration,
  diffEntities,
  sqlMapping,
  type ControlStore,
  type Migration,
  type SqlMapping,
  type Store,
} from '../../src/index.js';
import { mysqlStore } from '../../src/mysql/index.js';
import { postgresControlStore, postgresStore } from '../../src/postgres/index.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../../src/sqlite/index.js';
import { redisMappingFromSql, redisStore } from '../../src/redis/index.js';
import { Redis } from 'ioredis';
import { availability, dropRedisKeys } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { midair, until, writeUsersConfig, type CliRun } from './cli-support.js';

interface User {
  id: bigint;
  email: string;
  name: string;
}

const oldMapping = (schema?: string): SqlMapping<User> =>
  sqlMapping<User>({
    key: 'id',
    tables: [
      {
        table: 'users',
        ...(schema ? { schema } : {}),
        columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') },
      },
    ],
  });
const newMapping = (schema?: string): SqlMapping<User> =>
  sqlMapping<User>({
    key: 'id',
    tables: [
      { table: 'users', ...(schema ? { schema } : {}), columns: { id: col.bigint('id'), email: col.text('email') } },
      {
        table: 'user_profiles',
        ...(schema ? { schema } : {}),
        columns: { id: col.bigint('user_id'), name: col.text('full_name') },
      },
    ],
  });

/** What the application side of a test needs: its own connections to the same databases. */
interface World {
  readonly dir: string;
  readonly old: Store<bigint, User>;
  readonly new: Store<bigint, User>;
  /** A control store for one application instance (its own connection: another process, to the database). */
  control(): Promise<ControlStore>;
  close(): Promise<void>;
}

const KEYS = 240;

/** Application instances reading, writing and deleting their own keys (instance i owns keys ≡ i mod n), so every key's last acknowledged state is known. */
function traffic(instances: readonly Migration<bigint, User>[], seeded: ReadonlyMap<bigint, User>) {
  const expected = new Map<bigint, User | undefined>(seeded);
  const stats = { ops: 0, errors: 0, staleReads: 0 };
  let running = true;
  const loops = instances.map(async (m, i) => {
    const repo = m.repository();
    for (let n = 0; running; n++) {
      const id = BigInt(1 + i + instances.length * Math.floor(Math.random() * (KEYS / instances.length)));
      const roll = Math.random();
      try {
        if (roll < 0.55) {
          const u = { id, email: `u${id}@example.com`, name: `${i}-${n}` };
          await repo.put(u);
          expected.set(id, u);
        } else if (roll < 0.65) {
          await repo.delete(id);
          expected.set(id, undefined);
        } else {
          const got = await repo.get(id);
          const want = expected.get(id);
          if ((got === undefined) !== (want === undefined) || (got && want && diffEntities(got, want).length > 0))
            stats.staleReads++;
        }
        stats.ops++;
      } catch {
        stats.errors++;
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  });
  return {
    expected,
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function seed(world: World): Promise<Map<bigint, User>> {
  const users = Array.from({ length: KEYS }, (_, i): User => ({
    id: BigInt(i + 1),
    email: `u${i + 1}@example.com`,
    name: `seed ${i + 1}`,
  }));
  await world.old.writeIfNewer(users);
  return new Map(users.map((u) => [u.id, u]));
}

/**
 * The whole path through every phase, driven by the CLI in its own
 * processes, while two application instances serve traffic: a blocked gate,
 * backfill, verification, shadow reads, the ramp, new-primary, a rollback
 * from it and back, old-read-only, complete. Nothing acknowledged is lost.
 */
async function walk(world: World): Promise<void> {
  const seeded = await seed(world);
  const instances: Migration<bigint, User>[] = [];
  for (const id of ['app-a', 'app-b']) {
    instances.push(
      await defineMigration<bigint, User>({
        name: 'users',
        old: world.old,
        new: world.new,
        control: await world.control(),
        instanceId: id,
        pollMs: 50,
        instanceExpiryMs: 3000,
        shadow: { recheckMs: 20 },
        repair: { intervalMs: 100 },
        autoHalt: false,
      }).start(),
    );
  }
  const load = traffic(instances, seeded);
  const cli = async (...args: string[]): Promise<CliRun> => midair(world.dir, args);
  const ok = async (run: Promise<CliRun>): Promise<CliRun> => {
    const r = await run;
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  };
  try {
    await ok(cli('phase', 'advance'));
    const blocked = await cli('phase', 'advance');
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/blocked by 1 gate.*\n\s+backfill: no backfill yet/);
    expect((await ok(cli('backfill', '--json'))).json()).toMatchObject({ status: 'complete', deadLetters: 0 });
    expect((await ok(cli('verify', '--json'))).json()).toMatchObject({
      status: 'equal',
      missing: { total: 0 },
      extra: { total: 0 },
      different: { total: 0 },
    });
    await ok(cli('phase', 'advance'));
    await ok(until(() => cli('phase', 'advance', '--ramp', '10'))); // waits for 20 shadow comparisons fleet-wide
    await ok(cli('phase', 'set', '--ramp', '50'));
    await ok(cli('phase', 'set', '--ramp', '100'));
    await ok(until(() => cli('phase', 'advance', '--yes')));
    expect((await ok(cli('status', '--json'))).json()).toMatchObject({ phase: 'new-primary', authoritative: 'new' });
    const back = (await ok(cli('phase', 'rollback', '--json'))).json<{
      to: { phase: string };
      resync: { status: string };
    }>();
    expect(back).toMatchObject({ to: { phase: 'ramp' }, resync: { status: 'equal' } });
    await ok(until(() => cli('phase', 'advance', '--yes')));
    await ok(until(() => cli('verify')));
    await ok(until(() => cli('phase', 'advance', '--yes')));
    // Out of old-read-only (old got no writes there): re-synced from new first, then back to new-primary.
    expect((await ok(cli('phase', 'rollback', '--json'))).json()).toMatchObject({
      from: { phase: 'old-read-only' },
      to: { phase: 'new-primary' },
      resync: { status: 'equal' },
    });
    await ok(until(() => cli('verify')));
    await ok(until(() => cli('phase', 'advance', '--yes')));
    await ok(until(() => cli('phase', 'advance', '--yes')));
    const plan = (await cli('plan', '--format', 'json')).json<{ phase: string }>();
    expect(plan.phase).toBe('complete');
  } finally {
    await load.stop();
    for (const m of instances) await m.close();
  }
  // No acknowledged write lost: new holds every key's last acknowledged state; no client saw an error or a stale read.
  expect(load.stats).toMatchObject({ errors: 0, staleReads: 0 });
  expect(load.stats.ops).toBeGreaterThan(200);
  const keys = [...load.expected.keys()];
  const actual = await world.new.getMany(keys);
  const lost = keys.filter((k, i) => {
    const want = load.expected.get(k);
    const got = actual[i];
    return (want === undefined) !== (got === undefined) || (want && got && diffEntities(want, got).length > 0);
  });
  expect(lost).toEqual([]);
  const status = (await midair(world.dir, ['status', '--json'])).json<{
    phase: string;
    recentChanges: { action: string }[];
  }>();
  expect(status.phase).toBe('complete');
}

const DDL_OLD = 'CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL, name VARCHAR(200) NOT NULL)';
const DDL_NEW = [
  'CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL)',
  'CREATE TABLE user_profiles (user_id BIGINT PRIMARY KEY, full_name VARCHAR(200))',
];

async function sqliteWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-cli-'));
  const oldDb = await openSqlite(join(dir, 'old.db'));
  const newDb = await openSqlite(join(dir, 'new.db'));
  oldDb.exec(DDL_OLD);
  for (const sql of DDL_NEW) newDb.exec(sql);
  writeUsersConfig(dir, { control: 'sqlite:control.db', old: 'sqlite:old.db', new: 'sqlite:new.db' });
  const old = sqliteStore<bigint, User>(oldDb, oldMapping(), { ownsDatabase: true });
  const neu = sqliteStore<bigint, User>(newDb, newMapping(), { ownsDatabase: true });
  await old.setup();
  await neu.setup();
  const controls: ControlStore[] = [];
  return {
    dir,
    old,
    new: neu,
    control: async () => {
      const c = sqliteControlStore(await openSqlite(join(dir, 'control.db')), { ownsDatabase: true });
      controls.push(c);
      return c;
    },
    close: async () => {
      for (const c of controls) await c.close();
      await old.close();
      await neu.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Control stores on PostgreSQL, one pool each (an application instance's own connection), all closed together. */
function pgControls(url: string): { open: () => Promise<ControlStore>; close: () => Promise<void> } {
  const pools: pg.Pool[] = [];
  return {
    open: async () => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pools.push(pool);
      return Promise.resolve(postgresControlStore(pool));
    },
    close: async () => {
      for (const p of pools) await p.end();
    },
  };
}

async function serverWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-cli-'));
  const ns = `midair_${inject('runId')}_cli${Math.floor(Math.random() * 1e6).toString(36)}`;
  const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 2 });
  await admin.query(`CREATE SCHEMA ${ns}`);
  await admin.query(DDL_OLD.replace('TABLE users', `TABLE ${ns}.users`));
  const myAdmin = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
  await myAdmin.query(`CREATE DATABASE ${ns} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  for (const sql of DDL_NEW) await myAdmin.query(sql.replace(/TABLE (\w+)/, `TABLE ${ns}.$1`));
  const controlUrl = `${SERVICE_URLS.postgres}${SERVICE_URLS.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${ns}`)}`;
  const myUrl = new URL(SERVICE_URLS.mysql);
  myUrl.pathname = `/${ns}`;
  writeUsersConfig(dir, { control: controlUrl, old: SERVICE_URLS.postgres, new: myUrl.toString() }, { old: ns });
  const pgPool = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 8 });
  const myPool = mysql.createPool({ uri: myUrl.toString(), connectionLimit: 8 });
  const old = postgresStore<bigint, User>(pgPool, oldMapping(ns));
  const neu = mysqlStore<bigint, User>(myPool, newMapping());
  await old.setup();
  await neu.setup();
  const controls = pgControls(controlUrl);
  return {
    dir,
    old,
    new: neu,
    control: controls.open,
    close: async () => {
      await controls.close();
      await pgPool.end();
      await myPool.end();
      await admin.query(`DROP SCHEMA ${ns} CASCADE`);
      await admin.end();
      await myAdmin.query(`DROP DATABASE ${ns}`);
      await myAdmin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL and Redis: `direction` says which is old. Redis holds each user as one hash under its prefix. */
async function redisWorld(direction: 'into' | 'out of'): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-cli-'));
  const ns = `midair_${inject('runId')}_clr${Math.floor(Math.random() * 1e6).toString(36)}`;
  const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 2 });
  await admin.query(`CREATE SCHEMA ${ns}`);
  if (direction === 'into') await admin.query(DDL_OLD.replace('TABLE users', `TABLE ${ns}.users`));
  else for (const sql of DDL_NEW) await admin.query(sql.replace(/TABLE (\w+)/, `TABLE ${ns}.$1`));
  const controlUrl = `${SERVICE_URLS.postgres}${SERVICE_URLS.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${ns}`)}`;
  const prefix = `${ns}:users:`;
  writeUsersConfig(
    dir,
    {
      control: controlUrl,
      old: direction === 'into' ? SERVICE_URLS.postgres : SERVICE_URLS.redis,
      new: direction === 'into' ? SERVICE_URLS.redis : SERVICE_URLS.postgres,
    },
    direction === 'into' ? { old: ns } : { new: ns },
    direction === 'into' ? { new: prefix } : { old: prefix },
  );
  // Out of Redis, new (PostgreSQL) is slower than old by design: the operator widens the capacity gate's factor.
  if (direction === 'out of') {
    const file = join(dir, 'midair.config.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace('gates: {', 'gates: { capacityLatencyFactor: 20,'));
  }
  const pgPool = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 8 });
  const client = new Redis(SERVICE_URLS.redis, { maxRetriesPerRequest: 1 });
  const sql =
    direction === 'into'
      ? postgresStore<bigint, User>(pgPool, oldMapping(ns))
      : postgresStore<bigint, User>(pgPool, newMapping(ns));
  const kv = redisStore<bigint, User>(
    client,
    redisMappingFromSql(direction === 'into' ? newMapping() : oldMapping(), prefix),
  );
  const [old, neu] = direction === 'into' ? [sql, kv] : [kv, sql];
  await old.setup();
  await neu.setup();
  const controls = pgControls(controlUrl);
  return {
    dir,
    old,
    new: neu,
    control: controls.open,
    close: async () => {
      await controls.close();
      await pgPool.end();
      await dropRedisKeys(client, ns);
      client.disconnect();
      await admin.query(`DROP SCHEMA ${ns} CASCADE`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the midair CLI, end to end in its own processes', () => {
  const worlds: World[] = [];
  afterAll(async () => {
    for (const w of worlds) await w.close();
  });

  it('SQLite → SQLite (split schema): every phase under traffic, a blocked gate, rollbacks from new-primary and old-read-only; nothing lost', async () => {
    const world = await sqliteWorld();
    worlds.push(world);
    await walk(world);
  });

  const servers = [availability('postgres'), availability('mysql')].filter((a) => !a.run);
  it.skipIf(servers.length > 0)(
    `PostgreSQL → MariaDB (split schema): the same path${servers.length > 0 ? ` — skipped: ${servers.map((a) => a.reason).join('; ')}` : ''}`,
    async () => {
      const world = await serverWorld();
      worlds.push(world);
      await walk(world);
    },
  );

  const withRedis = [availability('postgres'), availability('redis')].filter((a) => !a.run);
  for (const direction of ['into', 'out of'] as const)
    it.skipIf(withRedis.length > 0)(
      `PostgreSQL ${direction === 'into' ? '→ Redis' : '← Redis'} (a table ${direction} one hash per user): the same path${withRedis.length > 0 ? ` — skipped: ${withRedis.map((a) => a.reason).join('; ')}` : ''}`,
      async () => {
        const world = await redisWorld(direction);
        worlds.push(world);
        await walk(world);
      },
    );

  it('a forced gate needs a reason, and its audit entry says what was forced past', async () => {
    const world = await sqliteWorld();
    worlds.push(world);
    await seed(world);
    // No application runs in this test: the first advance is forced past the fleet gate.
    expect((await midair(world.dir, ['phase', 'advance', '--force', '--reason', 'test: no application'])).code).toBe(0);
    const noReason = await midair(world.dir, ['phase', 'advance', '--force']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--force needs --reason');
    const forced = await midair(world.dir, ['phase', 'advance', '--force', '--reason', 'test: backfill runs later']);
    expect(forced.code).toBe(0);
    const status = (await midair(world.dir, ['status', '--json'])).json<{
      phase: string;
      recentChanges: { forced: boolean; reason: string; to: string }[];
    }>();
    expect(status.phase).toBe('shadow-read');
    expect(status.recentChanges[0]).toMatchObject({ forced: true, to: 'shadow-read' });
    expect(status.recentChanges[0]?.reason).toMatch(
      /^test: backfill runs later \[forced past: fleet: no live instance.*backfill: no backfill yet/,
    );
  });
});
