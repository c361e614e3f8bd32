import { describe, expect, it } from 'vitest';
import type { Backend, BackendKind } from '../support/backends.js';
import { versionedRows, type Row } from './fixtures.js';

const row = (id: number, version: number, v: string): Row => ({ id: BigInt(id), version, v });

/** `lookups.findBy`: whole entities by field values, in key order. */
export function lookupSuite(get: () => Backend, kind: BackendKind): void {
  describe('lookups', () => {
    it('finds the entities whose fields equal the values given, in key order, and nothing else', async () => {
      const { store } = await versionedRows(get());
      const lookups = store.lookups;
      if (!lookups) throw new Error(`${store.name} has no lookups`);
      // Equality is the database's: a case-insensitive collation (MariaDB's default) would also match "Ada".
      for (const r of [row(3, 1, 'ada'), row(1, 2, 'ada'), row(2, 1, 'bob'), row(10, 1, 'ada'), row(4, 1, 'Adam')])
        await store.put(r);
      expect(await lookups.findBy({ v: 'ada' })).toEqual([row(1, 2, 'ada'), row(3, 1, 'ada'), row(10, 1, 'ada')]);
      expect(await lookups.findBy({ v: 'ada', version: 1 })).toEqual([row(3, 1, 'ada'), row(10, 1, 'ada')]);
      expect(await lookups.findBy({ v: 'nobody' })).toEqual([]);
      await store.delete(3n);
      expect((await lookups.findBy({ v: 'ada' })).map((r) => r.id)).toEqual([1n, 10n]);
    });

    if (kind === 'memory') return; // the memory store maps no columns: any field name is a field

    it('refuses a field the mapping does not name, and an empty lookup, before reading anything', async () => {
      const { store } = await versionedRows(get());
      const lookups = store.lookups;
      if (!lookups) throw new Error(`${store.name} has no lookups`);
      const findBy = (where: Partial<Row>): Promise<Row[]> => lookups.findBy(where);
      await expect(findBy({ email: 'x' } as Partial<Row>)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringMatching(
          /"email" is not a mapped field; look up by one of "id", "version", "v"/,
        ) as string,
      });
      await expect(findBy({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });
}
