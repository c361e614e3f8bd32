import { describe, expect, it } from 'vitest';
import type { Backend } from '../support/backends.js';
import { versionedRows, type Row } from './fixtures.js';

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
