import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Store } from '../../src/index.js';
import { pruneStart, UNCHECKED, watched } from '../../src/backfill/orphan-watch.js';
import { availabilityOfAll, suiteBackends } from '../support/backends.js';
import { item, rig } from '../migration/setup.js';

async function keysOf<K, E extends object>(store: Store<K & (string | number | bigint), E>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of store.scan({ chunkSize: 1000 })) out.push(...chunk.map((e) => String(store.keyOf(e))));
  return out.sort();
}

describe('the copy pass watches for keys new holds and old lacks', () => {
  it('the watch: candidates in a later range move the prune start there; in the first range, or unknown, it starts at the first key', () => {
    const w0 = { checked: true };
    expect(watched(w0, 'n10', 0)).toEqual(w0);
    expect(watched(w0, 'n10', 2)).toEqual({ checked: true, from: 'n10' });
    expect(watched({ checked: true, from: 'n10' }, 'n20', 5)).toEqual({ checked: true, from: 'n10' });
    expect(watched(w0, undefined, 1)).toEqual(UNCHECKED);
    expect(watched(w0, 'n10', undefined)).toEqual(UNCHECKED);
    expect(watched(UNCHECKED, 'n10', 0)).toEqual(UNCHECKED);
    expect(pruneStart(w0, 'n99')).toBe('n99');
    expect(pruneStart({ checked: true, from: 'n10' }, 'n99')).toBe('n10');
    expect(pruneStart(UNCHECKED, 'n99')).toBeUndefined();
  });

  it('keys new holds and old lacks, before the first key, between chunks and after the last, are all pruned', async () => {
    const r = await rig();
    // old: even keys 2..400; new already holds 1 (first range), 101 and 257 (middle), 999 (tail).
    for (let i = 2; i <= 400; i += 2) await r.oldStore.put(item(i, 1, `old ${i}`));
    for (const k of [1, 101, 257, 999]) await r.newStore.put(item(k, 1, 'only in new'));
    await r.goTo('dual-write');
    const result = await r.migration.backfill({ chunkSize: 10, targetChunkMs: 0, maxDeleteShare: 0.05 });
    expect(result).toMatchObject({ status: 'complete', inserted: 200, deleted: 4 });
    expect(await keysOf(r.newStore)).toEqual(await keysOf(r.oldStore));
  });

  it('with nothing to prune, the prune walks only what lies past the last key the copy read', async () => {
    const r = await rig();
    for (let i = 0; i < 200; i++) await r.oldStore.put(item(i, 1));
    await r.newStore.put(item(5000, 1, 'only in new'));
    await r.goTo('dual-write');
    const result = await r.migration.backfill({ chunkSize: 10, targetChunkMs: 0, maxDeleteShare: 0.05 });
    // 20 copy chunks and one prune chunk (the tail): the prune did not walk the 200 keys again.
    expect(result).toMatchObject({ status: 'complete', inserted: 200, deleted: 1, chunks: 21 });
    expect(await keysOf(r.newStore)).toEqual(await keysOf(r.oldStore));
  });

  it('a run stopped mid-copy and resumed still prunes a key it saw before it stopped', async () => {
    const r = await rig();
    for (let i = 2; i <= 400; i += 2) await r.oldStore.put(item(i, 1));
    await r.newStore.put(item(51, 1, 'only in new'));
    await r.goTo('dual-write');
    const abort = new AbortController();
    let chunks = 0;
    const first = await r.migration.backfill({
      chunkSize: 10,
      targetChunkMs: 0,
      signal: abort.signal,
      onProgress: () => {
        if (++chunks === 8) abort.abort();
      },
    });
    expect(first.status).toBe('aborted');
    expect(await r.newStore.get(51)).toBeDefined();
    const second = await r.migration.backfill({ chunkSize: 10, targetChunkMs: 0, maxDeleteShare: 0.05 });
    expect(second).toMatchObject({ status: 'complete', deleted: 1 });
    expect(second.resumedAfter).toBeDefined();
    expect(await keysOf(r.newStore)).toEqual(await keysOf(r.oldStore));
  });

  it('live writes while the copy runs are never pruned: every key old holds at the end is in new', async () => {
    const r = await rig();
    for (let i = 0; i < 300; i++) await r.oldStore.put(item(i * 2, 1));
    await r.newStore.put(item(7, 1, 'only in new'));
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    const writes: Promise<unknown>[] = [];
    let n = 0;
    const result = await r.migration.backfill({
      chunkSize: 10,
      targetChunkMs: 0,
      maxDeleteShare: 0.05,
      // Between chunks, the application inserts keys on both sides of the copy's cursor and deletes others.
      onProgress: () => {
        n++;
        writes.push(repo.put(item(1 + 2 * ((n * 37) % 300), 1, 'live')), repo.delete((n * 53) % 600));
      },
    });
    await Promise.all(writes);
    await r.migration.settle();
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('complete');
    expect(await r.newStore.get(7)).toBeUndefined();
    expect(await keysOf(r.newStore)).toEqual(await keysOf(r.oldStore));
  });
});

const { run, reason } = availabilityOfAll('postgres', 'mysql');

interface Tag {
  name: string;
  n: number;
}

describe.skipIf(!run)(`the watch on stores that order keys differently${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');
  let stores: Store<string, Tag>[] = [];
  beforeAll(() => {
    stores = [];
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  it('MariaDB (case-insensitive collation) into PostgreSQL (byte order): keys new holds and old lacks are pruned wherever they sort', async () => {
    const mapping = (table: string): ReturnType<typeof sqlMapping<Tag>> =>
      sqlMapping<Tag>({ key: 'name', tables: [{ table, columns: { name: col.text('name'), n: col.integer('n') } }] });
    const oldTable = db.mysql.unique('watch_old');
    const newTable = db.postgres.unique('watch_new');
    await db.mysql.ddl({
      mysql: `CREATE TABLE ${oldTable} (name varchar(40) COLLATE utf8mb4_general_ci PRIMARY KEY, n int NOT NULL) ENGINE=InnoDB`,
    });
    await db.postgres.ddl({
      postgres: `CREATE TABLE ${newTable} (name text COLLATE "C" PRIMARY KEY, n integer NOT NULL)`,
    });
    const old = db.mysql.store<string, Tag>(mapping(oldTable));
    const target = db.postgres.store<string, Tag>(mapping(newTable));
    stores.push(old, target);
    await old.setup();
    await target.setup();
    // Upper and lower case, digits and punctuation: the two orders disagree all along the key space.
    const names = Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? `K${i}` : i % 3 === 1 ? `k_${i}` : `${i}-x`));
    for (const [i, name] of names.entries()) await old.put({ name, n: i });
    for (const name of ['A0', 'a9', 'Zz', 'zz', '_q', '0', '~']) await target.put({ name, n: -1 });
    const m = defineMigration<string, Tag>({ name: 'watch', old, new: target, control: memoryControlStore() });
    await m.advance({ reason: 'test' });
    try {
      const result = await m.backfill({ chunkSize: 7, targetChunkMs: 0, maxDeleteShare: 0.1 });
      expect(result).toMatchObject({ status: 'complete', inserted: 120, deleted: 7 });
      expect(await keysOf(target)).toEqual(await keysOf(old));
    } finally {
      await m.close();
    }
  });
});
