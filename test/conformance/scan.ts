import { beforeAll, describe, expect, it } from 'vitest';
import { col, keyId, sqlMapping, type Key, type Store } from '../../src/index.js';
import { compareKeys } from '../../src/adapter.js';
import { hasManyOf, scanKeysOf } from '../../src/core/store.js';
import type { Backend } from '../support/backends.js';
import { versionedRows, type Row } from './fixtures.js';

async function collectKeys<K extends Key, E extends object>(
  store: Store<K, E>,
  after?: K,
  chunkSize = 997,
): Promise<K[]> {
  const keys: K[] = [];
  for await (const chunk of store.scan({ after, chunkSize })) {
    expect(chunk.length).toBeLessThanOrEqual(chunkSize);
    for (const e of chunk) keys.push(store.keyOf(e));
  }
  return keys;
}

function expectStrictlyIncreasing(keys: readonly Key[]): void {
  for (let i = 1; i < keys.length; i++) {
    if (compareKeys(keys[i - 1] as Key, keys[i] as Key) >= 0) {
      throw new Error(`keys out of order at ${i}: ${keyId(keys[i - 1] as Key)} then ${keyId(keys[i] as Key)}`);
    }
  }
}

interface Tagged {
  name: string;
  n: number;
}
interface Event {
  tenant: number;
  seq: bigint;
  payload: string;
}

export function scanSuite(get: () => Backend): void {
  describe('keyset scan', () => {
    const N = 100_000;
    let store: Store<bigint, Row>;
    let expected: bigint[];

    beforeAll(async () => {
      ({ store } = await versionedRows(get()));
      // Sparse keys with gaps, written out of order, some beyond 2^53.
      expected = Array.from({ length: N }, (_, i) => BigInt(i) * 7n + (i % 3 === 0 ? 9007199254740000n : 0n));
      const shuffled = [...expected].sort(() => Math.random() - 0.5);
      for (let i = 0; i < shuffled.length; i += 5000) {
        await store.writeIfNewer(shuffled.slice(i, i + 5000).map((id) => ({ id, version: 1, v: `r${id}` })));
      }
      expected.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    });

    it(`returns every one of ${N} keys exactly once, in key order`, async () => {
      expect(await store.count()).toBe(N);
      const keys = await collectKeys(store);
      expect(keys.length).toBe(N);
      expectStrictlyIncreasing(keys);
      expect(keys).toEqual(expected);
    });

    it('regression: a consumer that empties each chunk it gets still receives every key once', async () => {
      const seen: bigint[] = [];
      for await (const chunk of store.scan({ chunkSize: 7000, through: expected[30_000] })) {
        while (chunk.length > 0) seen.push((chunk.shift() as { id: bigint }).id);
      }
      expect(seen).toEqual(expected.slice(0, 30_001));
    });

    it('reads the same keys key-only (scanKeys) as a full scan, and says which keys exist (hasMany)', async () => {
      const keys: bigint[] = [];
      for await (const chunk of scanKeysOf(store, {
        chunkSize: 3001,
        after: expected[99],
        through: expected[60_000],
      })) {
        expect(chunk.length).toBeLessThanOrEqual(3001);
        keys.push(...chunk);
      }
      expect(keys).toEqual(expected.slice(100, 60_001));
      const probe = [
        expected[5] as bigint,
        (expected[5] as bigint) + 1n,
        expected[N - 1] as bigint,
        -3n,
        expected[5] as bigint,
      ];
      expect(await hasManyOf(store, probe)).toEqual([true, false, true, false, true]);
    });

    it('resumes after any key, including one that does not exist', async () => {
      for (const at of [0, 1, 4999, 5000, 73_211, N - 2, N - 1]) {
        const after = expected[at] as bigint;
        expect(await collectKeys(store, after, 1000)).toEqual(expected.slice(at + 1));
      }
      expect(await collectKeys(store, (expected[10] as bigint) + 1n, 1000)).toEqual(expected.slice(11));
      expect(await collectKeys(store, -1n, 5000)).toEqual(expected);
    });

    it('scans one range (after, through] and splits the key space at sampled real keys with no key missed or repeated', async () => {
      const range: bigint[] = [];
      for await (const chunk of store.scan({ after: expected[100], through: expected[350], chunkSize: 97 }))
        range.push(...chunk.map((e) => e.id));
      expect(range).toEqual(expected.slice(101, 351));
      const sample = await store.sampleKeys(40);
      expect(sample).toHaveLength(40);
      expectStrictlyIncreasing(sample);
      const known = new Set(expected);
      expect(sample.every((k) => known.has(k))).toBe(true);
      const bounds: (bigint | undefined)[] = [undefined, ...sample, undefined];
      const seen: bigint[] = [];
      for (let i = 0; i + 1 < bounds.length; i++) {
        for await (const chunk of store.scan({ after: bounds[i], through: bounds[i + 1], chunkSize: 5000 }))
          seen.push(...chunk.map((e) => e.id));
      }
      expect(seen).toEqual(expected);
    });

    it('scans string keys in order and resumes from any of them', async () => {
      const backend = get();
      const table = backend.unique('tags');
      await backend.ddl({
        postgres: `CREATE TABLE ${table} (name varchar(100) PRIMARY KEY, n integer NOT NULL)`,
        mysql: `CREATE TABLE ${table} (name varchar(100) PRIMARY KEY, n int NOT NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
        sqlite: `CREATE TABLE ${table} (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`,
      });
      const tags = backend.store<string, Tagged>(
        sqlMapping<Tagged>({
          key: 'name',
          tables: [{ table, columns: { name: col.text('name'), n: col.integer('n') } }],
        }),
      );
      await tags.setup();
      const names = Array.from({ length: 3000 }, (_, i) => `k${String(i * 13).padStart(6, '0')}`);
      await tags.writeIfNewer(names.map((name, n) => ({ name, n })));
      const sorted = [...names].sort();
      expect(await collectKeys(tags, undefined, 250)).toEqual(sorted);
      expect(await collectKeys(tags, sorted[1234], 250)).toEqual(sorted.slice(1235));
    });

    it('scans composite keys in order and resumes from any of them (regression: MySQL keyset predicate reused positional placeholders)', async () => {
      const backend = get();
      const table = backend.unique('events');
      await backend.ddl({
        postgres: `CREATE TABLE ${table} (tenant integer, seq bigint, payload text NOT NULL, PRIMARY KEY (tenant, seq))`,
        mysql: `CREATE TABLE ${table} (tenant int, seq bigint, payload text NOT NULL, PRIMARY KEY (tenant, seq))`,
        sqlite: `CREATE TABLE ${table} (tenant INTEGER, seq INTEGER, payload TEXT NOT NULL, PRIMARY KEY (tenant, seq))`,
      });
      const events = backend.store<[number, bigint], Event>(
        sqlMapping<Event>({
          key: ['tenant', 'seq'],
          tables: [
            { table, columns: { tenant: col.integer('tenant'), seq: col.bigint('seq'), payload: col.text('payload') } },
          ],
        }),
      );
      await events.setup();
      const all: Event[] = [];
      for (let tenant = 1; tenant <= 30; tenant++)
        for (let s = 0; s < 100; s++) all.push({ tenant, seq: BigInt(s * s), payload: `p${tenant}.${s}` });
      await events.writeIfNewer([...all].reverse());
      const keys = all.map((e) => [e.tenant, e.seq] as [number, bigint]);
      expect(await collectKeys(events, undefined, 77)).toEqual(keys);
      expect(await collectKeys(events, [7, 50n], 77)).toEqual(keys.filter(([t, s]) => t > 7 || (t === 7 && s > 50n)));
      const bounded: [number, bigint][] = [];
      for await (const chunk of events.scan({ after: [7, 49n], through: [9, 16n], chunkSize: 13 }))
        bounded.push(...chunk.map((e) => events.keyOf(e)));
      expect(bounded).toEqual(
        keys.filter(([t, s]) => (t > 7 || (t === 7 && s > 49n)) && (t < 9 || (t === 9 && s <= 16n))),
      );
      expect(await events.get([7, 49n])).toEqual({ tenant: 7, seq: 49n, payload: 'p7.7' });
      expect(
        await events.getMany([
          [7, 49n],
          [7, 50n],
          [30, 9801n],
        ]),
      ).toEqual([{ tenant: 7, seq: 49n, payload: 'p7.7' }, undefined, { tenant: 30, seq: 9801n, payload: 'p30.99' }]);
    });
  });
}
