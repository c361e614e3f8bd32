import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, type Store } from '../../src/index.js';
import { entityHash } from '../../src/adapter.js';
import { redisMapping, redisStore } from '../../src/redis/index.js';
import { availability, dropRedisKeys } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';

interface User {
  id: bigint;
  version: number;
  email: string;
  active: boolean | null;
  seenAt: Date | null;
  prefs: unknown;
}

const { run, reason } = availability('redis');

describe.skipIf(!run)(`the Redis store's layout and its own guarantees${run ? '' : ` — skipped: ${reason}`}`, () => {
  let client: Redis;
  const ns = `midair_layout_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  let n = 0;
  const mappingOf = (prefix: string) =>
    ({
      prefix,
      key: 'id',
      version: 'version',
      fields: {
        id: col.bigint('id'),
        version: col.integer('version'),
        email: col.text('email'),
        active: col.boolean('active'),
        seenAt: col.timestamptz('seen_at'),
        prefs: col.json('prefs'),
      },
    }) as const;
  const users = (): { store: Store<bigint, User>; prefix: string } => {
    const prefix = `${ns}:u${++n}:`;
    return { store: redisStore<bigint, User>(client, redisMapping<User>(mappingOf(prefix))), prefix };
  };
  const user = (id: number, version = 1, email = `u${id}@example.com`): User => ({
    id: BigInt(id),
    version,
    email,
    active: id % 2 === 0,
    seenAt: new Date(Date.UTC(2024, 0, 1, 0, 0, id)),
    prefs: { theme: 'dark', n: id },
  });

  beforeAll(() => {
    client = new Redis(SERVICE_URLS.redis, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await dropRedisKeys(client, ns);
    client.disconnect();
  });

  it('keeps an entity as a hash under the prefix, each field under its name in its text form', async () => {
    const { store, prefix } = users();
    await store.setup();
    await store.put(user(7));
    expect(await client.hgetall(`${prefix}7`)).toEqual({
      id: '7',
      version: '1',
      email: 'u7@example.com',
      active: '0',
      seen_at: '2024-01-01T00:00:07.000000Z',
      prefs: '{"theme":"dark","n":7}',
    });
    await store.put({ ...user(7, 2), active: null });
    expect(await client.hexists(`${prefix}7`, 'active')).toBe(0);
    expect(await store.get(7n)).toEqual({ ...user(7, 2), active: null });
  });

  it('setup() indexes the entities the prefix holds already, once; check() names them until then', async () => {
    const { store, prefix } = users();
    for (let id = 1; id <= 50; id++)
      await client.hset(`${prefix}${id}`, { id: String(id), version: '1', email: `u${id}@example.com` });
    await client.set(`${prefix}not-a-key`, 'x'); // not a hash, not a key: left alone
    expect((await store.check()).problems.map((p) => p.code)).toContain('UNINDEXED');
    expect(await store.count()).toBe(0);
    await store.setup();
    expect(await store.count()).toBe(50);
    const ids: bigint[] = [];
    for await (const chunk of store.scan({ chunkSize: 7 })) ids.push(...chunk.map((u) => u.id));
    expect(ids).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i + 1)));
    expect((await store.check()).problems.map((p) => p.code)).not.toContain('UNINDEXED');
    // From then on writes keep the index: a delete through the store is not brought back by another setup().
    await store.delete(3n);
    await store.setup();
    expect(await store.count()).toBe(49);
  });

  it('regression: check() took an entity deleted through the store between its SCAN and its index lookup for one written without midair (the CLI refused a Redis old store under traffic)', async () => {
    const { store, prefix } = users();
    await store.setup();
    for (let id = 1; id <= 20; id++) await store.put(user(id));
    // The SCAN answers, then the application deletes what it found, before check() looks the keys up.
    const scan = client.scan.bind(client);
    let deleted = 0;
    const racing = Object.create(client) as Redis;
    racing.scan = (async (...args: Parameters<Redis['scan']>) => {
      const [next, found] = await scan(...args);
      for (const name of found)
        if (name.startsWith(prefix) && (await store.delete(BigInt(name.slice(prefix.length))))) deleted++;
      return [next, found];
    }) as Redis['scan'];
    const checked = redisStore<bigint, User>(racing, redisMapping<User>(mappingOf(prefix)));
    expect((await checked.check()).problems.map((p) => p.code)).not.toContain('UNINDEXED');
    // However far check()'s SCAN got through a shared server's keys, it met some of these, and deleted them first.
    expect(deleted).toBeGreaterThan(0);
    expect(await store.count()).toBe(20 - deleted);
  });

  it('check() says how much a crash can lose, from the server’s own settings, and names fields that do not decode', async () => {
    const { store, prefix } = users();
    await store.setup();
    await store.put(user(1));
    await client.hset(`${prefix}1`, 'version', 'one');
    const report = await store.check();
    const [, appendonly] = (await client.config('GET', 'appendonly')) as [string, string];
    const durability = report.problems.find((p) => p.code === 'DURABILITY');
    if (appendonly === 'yes') expect(durability?.message ?? '').not.toContain('appendonly is off');
    else {
      expect(durability?.severity).toBe('warning');
      expect(durability?.message).toContain('appendonly is off');
    }
    expect(report.problems).toContainEqual(
      expect.objectContaining({ code: 'TYPE_MISMATCH', severity: 'error', field: 'version' }),
    );
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain('one'); // names the field, never its value
  });

  it('hashes a range from the kept row hashes, and still sees a write made behind the store’s back', async () => {
    const { store, prefix } = users();
    await store.setup();
    const all = Array.from({ length: 30 }, (_, i) => user(i + 1));
    await store.writeIfNewer(all);
    const js = (list: readonly User[]): { count: number; sum: bigint } => ({
      count: list.length,
      sum: list.reduce((s, u) => s + entityHash(u, new Set()), 0n),
    });
    const hashing = store.hashing;
    if (!hashing) throw new Error('no hash pushdown');
    expect(await hashing.hashRange({}, new Set())).toEqual(js(all));
    await client.hset(`${prefix}12`, 'email', 'changed@example.com');
    const changed = all.map((u) => (u.id === 12n ? { ...u, email: 'changed@example.com' } : u));
    expect(await hashing.hashRange({}, new Set())).toEqual(js(changed));
    expect(await hashing.hashParts({ after: 5n, through: 20n }, [12n], new Set())).toEqual([
      js(changed.slice(5, 12)),
      js(changed.slice(12, 20)),
    ]);
    expect(hashing.hashUnsupported(new Set(['email']))).toMatch(/every field/);
  });

  it('a write whose key changed between its read and its write decides again: a writer paused in between never writes over the newer value', async () => {
    const { store } = users();
    await store.setup();
    await store.put(user(1, 1, 'first'));
    let source = user(1, 2, 'stale');
    let reads = 0;
    let resume = (): void => undefined;
    const paused = new Promise<void>((resolve) => (resume = resolve));
    let reading = (): void => undefined;
    const inRead = new Promise<void>((resolve) => (reading = resolve));
    const sync = store.syncKey(1n, async () => {
      reads++;
      const value = source;
      if (reads === 1) {
        reading();
        await paused; // the writer stalls here, for any length of time
      }
      return value;
    });
    await inRead;
    source = user(1, 3, 'newer');
    await store.put(source); // lands while the first read's value is still in hand
    resume();
    expect(await sync).toBe('put');
    expect(reads).toBe(2);
    expect(await store.get(1n)).toEqual(user(1, 3, 'newer'));
  });

  it('refuses a write whose key holds something other than a hash, having written nothing of the call', async () => {
    const { store, prefix } = users();
    await store.setup();
    await client.set(`${prefix}5`, 'a string');
    await expect(store.writeIfNewer([user(1), user(5)])).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
    expect(await store.get(1n)).toBeUndefined();
    expect(await store.count()).toBe(0);
    expect(await client.get(`${prefix}5`)).toBe('a string');
  });
});
