import { describe, expect, it } from 'vitest';
import type { Backend } from '../support/backends.js';
import { rowDdl, rowMapping, type Row } from './fixtures.js';

const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });

/**
 * `readKey`: the key's row and tombstone at one instant — what the merge
 * phases decide "deleted in new, or not migrated yet" from.
 */
export function readKeySuite(get: () => Backend): void {
  describe('readKey', () => {
    it('answers a row, a tombstone, or neither, and writes nothing', async () => {
      const backend = get();
      const table = backend.unique('read_key');
      await backend.ddl(rowDdl(table));
      const store = backend.store<bigint, Row>(rowMapping(table));
      await store.setup();
      const readKey = store.readKey.bind(store);
      await store.put(row(1, 1));
      await store.put(row(2, 1));
      await store.delete(2n);
      expect(await readKey(1n)).toEqual({ entity: row(1, 1) });
      const deleted = await readKey(2n);
      expect(deleted.entity).toBeUndefined();
      expect(deleted.tombstone?.key).toBe(2n);
      expect(deleted.tombstone?.deletedAt).toBeInstanceOf(Date);
      expect(await readKey(3n)).toEqual({});
      expect(await store.count()).toBe(1);
      expect(await store.getTombstone(3n)).toBeUndefined();
    });

    it('a key ever written is never seen as neither, however deletes and re-creates race the reads', async () => {
      const backend = get();
      const table = backend.unique('read_key_race');
      await backend.ddl(rowDdl(table));
      const store = backend.store<bigint, Row>(rowMapping(table));
      await store.setup();
      const readKey = store.readKey.bind(store);
      await store.put(row(5, 1));
      await store.delete(5n);
      // Deletes and re-creates racing the reads: a key that was ever written is never seen as "neither".
      const writers = (async () => {
        for (let i = 2; i < 30; i++) {
          if (i % 2 === 0) await store.put(row(5, i));
          else await store.delete(5n);
        }
      })();
      const seen: string[] = [];
      for (let i = 0; i < 30; i++) {
        const s = await readKey(5n);
        seen.push(s.entity ? 'row' : s.tombstone ? 'tombstone' : 'neither');
      }
      await writers;
      expect(seen).not.toContain('neither');
    });
  });
}
