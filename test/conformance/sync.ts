import { describe, expect, it } from 'vitest';
import { col, sqlMapping, type Store } from '../../src/index.js';
import type { Backend } from '../support/backends.js';
import { thingDdl, thingMapping, versionedRows, type Row, type Thing } from './fixtures.js';
import { edgeThings } from './types.js';

const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });
const pause = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function syncSuite(get: () => Backend): void {
  describe('sync by key', () => {
    it('copies the source entity, clears a tombstone, and deletes (leaving a tombstone) when the source has none', async () => {
      const { store } = await versionedRows(get());
      await store.delete(1n);
      expect(await store.syncKey(1n, async () => Promise.resolve(row(1, 3)))).toBe('put');
      expect(await store.get(1n)).toEqual(row(1, 3));
      expect(await store.getTombstone(1n)).toBeUndefined();
      expect(await store.syncKey(1n, async () => Promise.resolve(undefined))).toBe('deleted');
      expect(await store.get(1n)).toBeUndefined();
      expect((await store.getTombstone(1n))?.version).toBe(3);
      expect(await store.syncKey(1n, async () => Promise.resolve(undefined))).toBe('absent');
      // The tombstone stops a backfill that read the row before it was deleted.
      expect(await store.writeIfNewer([row(1, 3)])).toMatchObject({ skippedTombstoned: 1 });
    });

    it('syncs many keys at once: puts, deletes with tombstones, and leaves null keys alone', async () => {
      const { store } = await versionedRows(get());
      await store.put(row(1, 5, 'stale'));
      await store.put(row(2, 5, 'to delete'));
      await store.put(row(3, 5, 'left alone'));
      await store.delete(4n);
      const source = new Map<bigint, Row | undefined | null>([
        [1n, row(1, 6, 'fresh')],
        [2n, undefined],
        [3n, null],
        [4n, row(4, 1, 'recreated')],
        [5n, row(5, 1, 'new')],
        [6n, undefined],
      ]);
      const seen: bigint[] = [];
      const result = await store.syncMany([5n, 1n, 2n, 3n, 4n, 6n, 1n], async (keys) => {
        seen.push(...keys);
        return Promise.resolve(
          keys
            .map((k) => source.get(k) ?? undefined)
            .map((v, i) => (source.get(keys[i] as bigint) === null ? null : v)),
        );
      });
      expect(result).toEqual({ inserted: 2, updated: 1, deleted: 1, unchanged: 2 });
      expect(new Set(seen)).toEqual(new Set([1n, 2n, 3n, 4n, 5n, 6n]));
      expect(await store.getMany([1n, 2n, 3n, 4n, 5n, 6n])).toEqual([
        row(1, 6, 'fresh'),
        undefined,
        row(3, 5, 'left alone'),
        row(4, 1, 'recreated'),
        row(5, 1, 'new'),
        undefined,
      ]);
      expect(await store.getTombstone(2n)).toBeDefined();
      expect(await store.getTombstone(4n)).toBeUndefined();
      expect(await store.getTombstone(6n)).toBeDefined();
    });

    it('syncs a large batch of absent keys (several transactions at once, straight into the table), then one mixing present, absent and tombstoned keys', async () => {
      const { store } = await versionedRows(get());
      const ids = Array.from({ length: 2600 }, (_, i) => BigInt(i + 1));
      const first = await store.syncMany(ids, async (keys) =>
        Promise.resolve(keys.map((k) => row(Number(k), 1, `first ${k}`))),
      );
      expect(first).toEqual({ inserted: 2600, updated: 0, deleted: 0, unchanged: 0 });
      await store.delete(7n);
      const more = Array.from({ length: 2600 }, (_, i) => BigInt(i * 2 + 1)); // odd keys: half present, half absent, 7 tombstoned
      const second = await store.syncMany(more, async (keys) =>
        Promise.resolve(keys.map((k) => row(Number(k), 2, `second ${k}`))),
      );
      expect(second).toEqual({ inserted: 1301, updated: 1299, deleted: 0, unchanged: 0 });
      expect(await store.count()).toBe(2600 + 1300);
      const all = await store.getMany([...ids, ...more]);
      all.forEach((e, i) => {
        const id = i < ids.length ? (ids[i] as bigint) : (more[i - ids.length] as bigint);
        expect(e, `key ${id}`).toEqual(
          id % 2n === 1n ? row(Number(id), 2, `second ${id}`) : row(Number(id), 1, `first ${id}`),
        );
      });
      expect(await store.getTombstone(7n)).toBeUndefined();
    });

    it('syncs from a store of the same engine and shape with rows as the database prints them (PostgreSQL), or says it cannot', async () => {
      const backend = get();
      const [a, b] = [backend.unique('things_from'), backend.unique('things_into')];
      await backend.ddl(thingDdl(a));
      await backend.ddl(thingDdl(b));
      const from = backend.store<bigint, Thing>(thingMapping(a));
      const into = backend.store<bigint, Thing>(thingMapping(b));
      await from.setup();
      await into.setup();
      const things = edgeThings();
      await from.writeIfNewer(things);
      const [first, second, third] = things as [Thing, Thing, Thing];
      await into.put({ ...second, version: 99, s: 'stale' });
      await into.put({ ...third, version: 1 });
      await into.delete(third.id);
      await into.put({ ...first, id: 987_654n }); // only in into: the source's truth is that it is gone
      const keys = [...things.map((t) => t.id), 987_654n];
      const result = await into.bulkCopy?.syncManyFrom(keys, from);
      if (backend.dialect !== 'postgres') {
        expect(result).toBeUndefined(); // the caller then syncs entity by entity
        return;
      }
      expect(result).toEqual({ inserted: things.length - 1, updated: 1, deleted: 1, unchanged: 0 });
      expect(await into.getMany(things.map((t) => t.id))).toEqual(await from.getMany(things.map((t) => t.id)));
      expect(await into.get(987_654n)).toBeUndefined();
      expect(await into.getTombstone(987_654n)).toBeDefined();
      expect(await into.getTombstone(third.id)).toBeUndefined();
      // The same shape over other column types (json, not jsonb; a wider integer): rows cross as text, not binary.
      const c = backend.unique('things_text');
      await backend.ddl({
        postgres: (thingDdl(c).postgres as string)
          .replace('j jsonb', 'j json')
          .replace('n_int integer', 'n_int bigint'),
      });
      const asText = backend.store<bigint, Thing>(thingMapping(c));
      await asText.setup();
      expect(await asText.bulkCopy?.syncManyFrom(keys, from)).toEqual({
        inserted: things.length,
        updated: 0,
        deleted: 0,
        unchanged: 1,
      });
      const copied = await asText.getMany(things.map((t) => t.id));
      expect(copied.map((t) => t && { ...t, j: JSON.stringify(t.j) })).toEqual(
        (await from.getMany(things.map((t) => t.id))).map((t) => t && { ...t, j: JSON.stringify(t.j) }),
      );
      // Another shape (a field the other does not have) is refused, and nothing is written.
      const narrow = backend.store<bigint, Pick<Thing, 'id' | 'version' | 's'>>(
        sqlMapping({
          key: 'id',
          version: 'version',
          tables: [{ table: a, columns: { id: col.bigint('id'), version: col.integer('version'), s: col.text('s') } }],
        }),
      );
      expect(await into.bulkCopy?.syncManyFrom([first.id], narrow as unknown as Store<bigint, Thing>)).toBeUndefined();
      expect(await into.get(first.id)).toEqual(await from.get(first.id));
    });

    it('overwrites whatever the store holds, newer version or not: the source is the truth', async () => {
      const { store } = await versionedRows(get());
      await store.put(row(2, 9, 'stray'));
      await store.syncKey(2n, async () => Promise.resolve(row(2, 4, 'source')));
      expect(await store.get(2n)).toEqual(row(2, 4, 'source'));
    });

    it('converges when many syncs of the same keys race with a source that keeps changing (reads happen under the lock)', async () => {
      const { store } = await versionedRows(get());
      const source = new Map<bigint, Row | undefined>();
      let n = 0;
      await Promise.all(
        Array.from({ length: 48 }, async (_, task) => {
          const id = BigInt(task % 4);
          for (let i = 0; i < 6; i++) {
            // Change the source, then sync; the read inside the sync is slow and lands at a random moment.
            const next = Math.random() < 0.25 ? undefined : row(Number(id), ++n, `t${task}i${i}`);
            source.set(id, next);
            await store.syncKey(id, async () => {
              await pause(Math.random() * 3);
              return source.get(id);
            });
          }
        }),
      );
      for (const [id, expected] of source) expect(await store.get(id), `key ${id}`).toEqual(expected);
    });
  });
}
