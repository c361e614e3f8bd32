import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import type { Backend } from '../support/backends.js';
import { versionedRows, type Row } from './fixtures.js';
import { rng } from '../support/rng.js';

const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });

type Op = { kind: 'write'; row: Row } | { kind: 'delete'; id: bigint; version: number };

export function conditionalWriteSuite(get: () => Backend): void {
  describe('conditional bulk write', () => {
    it('inserts absent keys, applies newer versions, ignores older and equal ones', async () => {
      const { store } = await versionedRows(get());
      expect(await store.writeIfNewer([row(1, 5), row(2, 5), row(3, 5)])).toEqual({
        inserted: 3,
        updated: 0,
        skippedExisting: 0,
        skippedTombstoned: 0,
      });
      expect(await store.writeIfNewer([row(1, 4, 'older'), row(2, 5, 'equal'), row(3, 6, 'newer'), row(4, 1)])).toEqual(
        {
          inserted: 1,
          updated: 1,
          skippedExisting: 2,
          skippedTombstoned: 0,
        },
      );
      expect(await store.getMany([1n, 2n, 3n, 4n])).toEqual([row(1, 5), row(2, 5), row(3, 6, 'newer'), row(4, 1)]);
    });

    it('keeps what writing in order would keep when one call names a key twice', async () => {
      const { store } = await versionedRows(get());
      await store.writeIfNewer([row(1, 2), row(1, 9, 'newest'), row(1, 3)]);
      expect(await store.get(1n)).toEqual(row(1, 9, 'newest'));
    });

    it('never brings back a tombstoned key with a version not newer than the delete', async () => {
      const { store } = await versionedRows(get());
      await store.put(row(1, 3));
      expect(await store.delete(1n, { version: 4 })).toBe(true);
      expect(await store.get(1n)).toBeUndefined();
      expect((await store.getTombstone(1n))?.version).toBe(4);
      expect(await store.writeIfNewer([row(1, 3)])).toMatchObject({ inserted: 0, skippedTombstoned: 1 });
      expect(await store.writeIfNewer([row(1, 4)])).toMatchObject({ inserted: 0, skippedTombstoned: 1 });
      expect(await store.get(1n)).toBeUndefined();
      // A write newer than the delete (a re-create) passes and clears the tombstone.
      expect(await store.writeIfNewer([row(1, 5, 'recreated')])).toMatchObject({ inserted: 1 });
      expect(await store.get(1n)).toEqual(row(1, 5, 'recreated'));
      expect(await store.getTombstone(1n)).toBeUndefined();
    });

    it('an unversioned store is insert-only and never passes a tombstone', async () => {
      const { store } = await versionedRows(get(), false);
      expect(store.versioned).toBe(false);
      await store.writeIfNewer([row(1, 1, 'first')]);
      expect(await store.writeIfNewer([row(1, 2, 'second')])).toMatchObject({ inserted: 0, skippedExisting: 1 });
      expect(await store.get(1n)).toEqual(row(1, 1, 'first'));
      await store.delete(1n);
      expect(await store.writeIfNewer([row(1, 99, 'back?')])).toMatchObject({ skippedTombstoned: 1 });
      expect(await store.get(1n)).toBeUndefined();
      // An explicit put is the application's own write: it clears the tombstone.
      await store.put(row(1, 100, 'put'));
      expect(await store.get(1n)).toEqual(row(1, 100, 'put'));
      expect(await store.getTombstone(1n)).toBeUndefined();
      expect(await store.purgeTombstones()).toBe(0);
    });

    it('a conditional delete leaves a newer row alone', async () => {
      const { store } = await versionedRows(get());
      await store.put(row(1, 10));
      expect(await store.delete(1n, { version: 9 })).toBe(false);
      expect(await store.get(1n)).toEqual(row(1, 10));
      expect(await store.getTombstone(1n)).toBeUndefined();
      // A delete of an absent key still leaves its tombstone: an older write arriving late stays out.
      expect(await store.delete(2n, { version: 7 })).toBe(false);
      expect(await store.writeIfNewer([row(2, 6)])).toMatchObject({ skippedTombstoned: 1 });
      expect(await store.purgeTombstones()).toBe(1);
    });

    it('get, getMany, put, delete and count agree', async () => {
      const { store } = await versionedRows(get());
      await store.put(row(1, 1));
      await store.put(row(2, 1));
      await store.put(row(1, 2, 'replaced'));
      expect(await store.count()).toBe(2);
      expect(await store.getMany([2n, 3n, 1n])).toEqual([row(2, 1), undefined, row(1, 2, 'replaced')]);
      expect(await store.delete(2n, { tombstone: false })).toBe(true);
      expect(await store.delete(2n, { tombstone: false })).toBe(false);
      expect(await store.getTombstone(2n)).toBeUndefined();
      expect(await store.count()).toBe(1);
    });

    it('converges under racing writers and deletes of the same keys: the highest version wins, deleted keys stay deleted', async () => {
      const { store } = await versionedRows(get());
      const keys = 40;
      const seed = Math.floor(Math.random() * 1e9);
      const random = rng(seed);
      // Every op on a key gets a distinct version; the expected end state is the op with the highest one.
      const ops: Op[] = [];
      for (let k = 0; k < keys; k++) {
        const versions = Array.from({ length: 12 }, (_, i) => i + 1).sort(() => random() - 0.5);
        for (const version of versions) {
          ops.push(
            random() < 0.25
              ? { kind: 'delete', id: BigInt(k), version }
              : { kind: 'write', row: row(k, version, `k${k}v${version}`) },
          );
        }
      }
      const expected = new Map<bigint, Op>();
      for (const op of ops) {
        const id = op.kind === 'write' ? op.row.id : op.id;
        const version = op.kind === 'write' ? op.row.version : op.version;
        const best = expected.get(id);
        const bestVersion = best === undefined ? -1 : best.kind === 'write' ? best.row.version : best.version;
        if (version > bestVersion) expected.set(id, op);
      }
      ops.sort(() => random() - 0.5);
      const writers = 6;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          const mine = ops.filter((_, i) => i % writers === w);
          for (let i = 0; i < mine.length;) {
            const op = mine[i] as Op;
            if (op.kind === 'delete') {
              await store.delete(op.id, { version: op.version });
              i++;
              continue;
            }
            // Batch consecutive writes, as a backfill would.
            const batch: Row[] = [];
            while (i < mine.length && (mine[i] as Op).kind === 'write' && batch.length < 8)
              batch.push((mine[i++] as Op as { row: Row }).row);
            await store.writeIfNewer(batch);
          }
        }),
      );
      for (const [id, op] of expected) {
        const got = await store.get(id);
        if (op.kind === 'write') expect(got, `seed ${seed}, key ${id}`).toEqual(op.row);
        else expect(got, `seed ${seed}, key ${id}: deleted at version ${op.version}`).toBeUndefined();
      }
    });

    it('two writers inserting the same absent keys at once leave exactly one row each (unversioned)', async () => {
      const { store } = await versionedRows(get(), false);
      await store.delete(5n);
      const mk = (w: number): Row[] => Array.from({ length: 200 }, (_, i) => row(i, 1, `w${w}`));
      const results = await Promise.all([0, 1, 2, 3].map((w) => store.writeIfNewer(mk(w))));
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(199);
      expect(await store.count()).toBe(199);
      expect(await store.get(5n)).toBeUndefined();
      const all = await store.getMany(Array.from({ length: 200 }, (_, i) => BigInt(i)));
      expect(all.filter((r) => r !== undefined).every((r) => /^w[0-3]$/.test(r.v))).toBe(true);
    });
  });
}

export type { Store };
