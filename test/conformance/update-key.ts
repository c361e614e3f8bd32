import { describe, expect, it } from 'vitest';
import type { KeyState } from '../../src/adapter.js';
import type { Backend } from '../support/backends.js';
import { rowDdl, rowMapping, type Row } from './fixtures.js';

const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });

/**
 * `updateKey`: read-modify-write of one key under its lock — what the
 * repository's `update` and `patch` run on the authoritative store.
 */
export function updateKeySuite(get: () => Backend): void {
  describe('updateKey', () => {
    async function rows(name: string) {
      const backend = get();
      const table = backend.unique(name);
      await backend.ddl(rowDdl(table));
      const store = backend.store<bigint, Row>(rowMapping(table));
      await store.setup();
      return store;
    }

    it('hands the key’s row, tombstone or neither to `next`, and writes, deletes or leaves it as `next` says', async () => {
      const store = await rows('update_key');
      const seen: KeyState<bigint, Row>[] = [];
      const next =
        (value: Row | undefined | null) =>
        async (state: KeyState<bigint, Row>): Promise<Row | undefined | null> => {
          seen.push(state);
          return Promise.resolve(value);
        };
      expect(await store.updateKey(1n, next(row(1, 1)))).toBe('put');
      expect(seen.pop()).toEqual({});
      expect(await store.updateKey(1n, next(null))).toBe('unchanged');
      expect(seen.pop()).toEqual({ entity: row(1, 1) });
      expect(await store.get(1n)).toEqual(row(1, 1));
      expect(await store.updateKey(1n, next(undefined))).toBe('deleted');
      expect(await store.get(1n)).toBeUndefined();
      expect(await store.updateKey(1n, next(null))).toBe('unchanged');
      expect(seen.pop()?.tombstone?.key).toBe(1n);
      // A put through updateKey clears the tombstone, as a put does.
      expect(await store.updateKey(1n, next(row(1, 3)))).toBe('put');
      expect(await store.getTombstone(1n)).toBeUndefined();
      expect(await store.updateKey(2n, next(undefined))).toBe('absent');
      await expect(store.updateKey(3n, next(row(4, 1)))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(await store.get(3n)).toBeUndefined();
    });

    it('loses no update: concurrent read-modify-writes of one key, and puts beside them, are serialised by the key’s lock', async () => {
      const store = await rows('update_key_race');
      await store.put(row(1, 0, ''));
      const appenders = Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 5; i++)
          await store.updateKey(1n, async (state) => {
            const current = state.entity ?? row(1, 0, '');
            await new Promise((resolve) => setImmediate(resolve)); // a slow application between the read and the write
            return { ...current, version: current.version + 1, v: `${current.v}${w}` };
          });
      });
      await Promise.all(appenders);
      const final = await store.get(1n);
      expect(final?.version).toBe(30);
      expect([...(final?.v ?? '')].sort().join('')).toBe(
        Array.from({ length: 6 }, (_, w) => String(w).repeat(5)).join(''),
      );
    });
  });
}
