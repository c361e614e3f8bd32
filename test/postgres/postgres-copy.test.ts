import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres/index.js';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';

interface Item {
  id: bigint;
  at: Date;
  note: string;
}

const { run, reason } = availability('postgres');
const mapping = (table: string) =>
  sqlMapping<Item>({
    key: 'id',
    tables: [{ table, columns: { id: col.bigint('id'), at: col.timestamptz('at'), note: col.text('note') } }],
  });
const item = (i: number): Item => ({
  id: BigInt(i),
  at: new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i)),
  note: `note ${i}\twith a tab`,
});
const N = 2600;

/** Same-engine copies on PostgreSQL: one small pool for old and new, a signal, and column types that must not round. */
describe.skipIf(!run)(`PostgreSQL same-engine copies${run ? '' : ` — skipped: ${reason}`}`, () => {
  const schema = `midair_copy_${inject('runId')}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  // Two connections for old and new together: a batch that held one while waiting for another would wait forever.
  const pool = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 2, options: `-c search_path=${schema}` });
  const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 1 });
  let n = 0;
  const names = new Map<Store<bigint, Item>, string>();
  const table = async (ddlType = 'timestamptz', check = ''): Promise<Store<bigint, Item>> => {
    const name = `items_${++n}`;
    await pool.query(
      `CREATE TABLE ${name} (id bigint PRIMARY KEY, at ${ddlType} NOT NULL, note text NOT NULL${check})`,
    );
    const store = postgresStore<bigint, Item>(pool, mapping(name));
    await store.setup();
    names.set(store, name);
    return store;
  };
  let old: Store<bigint, Item>;
  const ids = Array.from({ length: N }, (_, i) => BigInt(i + 1));

  beforeAll(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`);
    old = await table();
    await old.writeIfNewer(ids.map((id) => item(Number(id))));
  });
  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  it('regression: copies thousands of keys between two stores on one pool of two connections without waiting forever', async () => {
    const into = await table();
    expect(await into.bulkCopy?.syncManyFrom(ids, old)).toEqual({ inserted: N, updated: 0, deleted: 0, unchanged: 0 });
    expect(await into.getMany(ids)).toEqual(await old.getMany(ids));
    const again = await table();
    expect(await again.syncMany(ids, async (keys) => old.getMany(keys))).toEqual({
      inserted: N,
      updated: 0,
      deleted: 0,
      unchanged: 0,
    });
  });

  it('regression: a copy given an AbortSignal keeps the COPY path (a binary copy once failed with NOT_SUPPORTED)', async () => {
    const into = await table();
    const signal = new AbortController().signal;
    expect(await into.bulkCopy?.syncManyFrom(ids, old, { signal })).toEqual({
      inserted: N,
      updated: 0,
      deleted: 0,
      unchanged: 0,
    });
    const m = defineMigration({ name: 'signal', old, new: await table(), control: memoryControlStore() });
    await m.advance({ reason: 'test' });
    const r = await m.backfill({ signal, chunkSize: 1500 });
    await m.close();
    expect(r).toMatchObject({ status: 'complete', inserted: N, deadLetters: 0 });
  });

  it('regression: a finer timestamp is not copied as text into a coarser column (it would round where the codec floors)', async () => {
    const fine = await table('timestamptz(6)');
    await pool.query(
      `INSERT INTO ${names.get(fine) ?? ''} VALUES (1, '2024-01-01 12:00:00.1239+00', 'a'), (2, '2024-01-01 12:00:00.9995+00', 'b')`,
    );
    const coarse = await table('timestamptz(3)');
    expect(await coarse.bulkCopy?.syncManyFrom([1n, 2n], fine)).toBeUndefined(); // the caller syncs entity by entity
    await coarse.syncMany([1n, 2n], async (keys) => fine.getMany(keys));
    expect((await coarse.getMany([1n, 2n])).map((e) => e?.at.toISOString())).toEqual([
      '2024-01-01T12:00:00.123Z',
      '2024-01-01T12:00:00.999Z',
    ]);
    expect(await coarse.getMany([1n, 2n])).toEqual(await fine.getMany([1n, 2n]));
  });

  it('regression: a bad row costs only its own batch, and the batches that committed are counted as inserted, not again as updated', async () => {
    const into = await table('timestamptz', ", CHECK (note NOT LIKE 'note 1234%')"); // refuses key 1234 only
    const m = defineMigration({ name: 'bad-row', old, new: into, control: memoryControlStore() });
    await m.advance({ reason: 'test' });
    const r = await m.backfill({ chunkSize: N, maxChunkSize: N });
    await m.close();
    expect(r).toMatchObject({ status: 'complete-with-dead-letters', inserted: N - 1, updated: 0, deadLetters: 1 });
    expect(await into.count()).toBe(N - 1);
    expect(await into.get(1234n)).toBeUndefined();
  });
});
