import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import type { Backend, BackendKind } from '../support/backends.js';
import { emptyThing, thingDdl, thingMapping, type Thing } from './fixtures.js';

const MB_TEXT = `${'x'.repeat(1024 * 1024 - 8)}😀é\u0000`.replace('\u0000', 'z');

/** Edge values a migration meets in real data; each must come back exactly. */
export function edgeThings(): Thing[] {
  return [
    emptyThing(1n),
    {
      ...emptyThing(2n),
      nInt: -2147483648,
      nBig: 9007199254740993n,
      nNum: '12345678901234567890.123456789012345678',
      s: '',
      b: false,
      tstz: '2024-02-29T23:59:59.999999Z',
      tsDate: new Date('2001-09-09T01:46:40.123Z'),
      ts: '2024-03-10T02:30:00.000001',
      d: '2024-02-29',
      j: { b: 1, a: { d: [1, 2, { y: 1, x: 2 }], c: null }, s: 'ü😀' },
      bin: Buffer.from([0, 1, 0, 255, 0]),
      u: '0b9a2c55-6f0e-4c41-9d5e-7a8f6a1d2e3f',
    },
    {
      ...emptyThing(9223372036854775807n),
      nInt: 2147483647,
      nBig: -9223372036854775808n,
      nNum: '-0.000000000000000000000000000001',
      s: '😀 𝄞 emoji and 4-byte unicode 🇺🇳',
      b: true,
      tstz: '1999-12-31T23:59:59.000001Z',
      ts: '1999-12-31T23:59:59.999999',
      d: '1970-01-01',
      j: [1, 'two', { three: 3 }, null, true],
      bin: Buffer.alloc(0),
      u: '00000000-0000-0000-0000-000000000000',
    },
    // j: a bare JSON string (regression: mysql2 parsed MariaDB's JSON text itself, then the codec parsed it again).
    { ...emptyThing(-9223372036854775808n), nNum: '0', s: MB_TEXT, j: 'a string', b: true },
    { ...emptyThing(3n), j: { z: 1, a: 2 }, bin: Buffer.from('\u0000\u0000zero bytes\u0000', 'latin1') },
  ];
}

export function typesSuite(get: () => Backend, kind: BackendKind): void {
  // The memory store keeps entities as given; offsets and session zones are the SQL codecs' and drivers' business.
  const sql = kind !== 'memory';
  describe('types round-trip', () => {
    let store: Store<bigint, Thing>;
    let table: string;
    beforeAll(async () => {
      const backend = get();
      table = backend.unique('things');
      await backend.ddl(thingDdl(table));
      store = backend.store(thingMapping(table));
      await store.setup();
      for (const t of edgeThings()) await store.put(t);
    });

    it('returns every edge value exactly as written (NULL, empty string, emoji, bigints, numerics, µs timestamps, JSON, 1 MB text, zero bytes)', async () => {
      for (const t of edgeThings()) {
        expect(await store.get(t.id), `key ${t.id}`).toEqual(t);
      }
    });

    it('returns every edge value exactly when written in one bulk write (the COPY path on PostgreSQL)', async () => {
      const backend = get();
      const bulkTable = backend.unique('things_bulk');
      await backend.ddl(thingDdl(bulkTable));
      const bulk = backend.store<bigint, Thing>(thingMapping(bulkTable));
      await bulk.setup();
      const things = [...edgeThings(), { ...emptyThing(77n), s: 'tab\there, newline\nthere, backslash \\ and \\N, \r', j: { 'quote"': '\\N' } }];
      expect(await bulk.writeIfNewer(things)).toMatchObject({ inserted: things.length });
      for (const t of things) expect(await bulk.get(t.id), `key ${t.id}`).toEqual(t);
      // Newer versions overwrite through the same path.
      const newer = things.map((t) => ({ ...t, version: 2, s: `v2 ${t.id}` }));
      expect(await bulk.writeIfNewer(newer)).toMatchObject({ updated: things.length });
      expect(await bulk.getMany(newer.map((t) => t.id))).toEqual(newer);
    });

    it('keeps NULL distinct from the empty string', async () => {
      expect((await store.get(1n))?.s).toBeNull();
      expect((await store.get(2n))?.s).toBe('');
    });

    it('reads JSON with the same keys in any order as equal, and keeps nested arrays in order', async () => {
      const t = await store.get(3n);
      expect(t?.j).toEqual({ a: 2, z: 1 });
      expect((await store.get(2n))?.j).toEqual({ a: { c: null, d: [1, 2, { x: 2, y: 1 }] }, b: 1, s: 'ü😀' });
    });

    if (sql) it('normalises instants written with any offset to the same UTC instant', async () => {
      const id = 100n;
      await store.put({ ...emptyThing(id), tstz: '2024-06-01T12:00:00.123456+05:30', tsDate: new Date('2024-06-01T06:30:00.123Z') });
      const got = await store.get(id);
      expect(got?.tstz).toBe('2024-06-01T06:30:00.123456Z');
      expect(got?.tsDate?.toISOString()).toBe('2024-06-01T06:30:00.123Z');
    });

    if (sql) it.each(['Asia/Kolkata', 'America/Los_Angeles', 'Pacific/Chatham'] as const)(
      'reads and writes the same instants from a session in %s',
      async (zone) => {
        const zoned = get().storeInZone<bigint, Thing>(thingMapping(table), zone);
        const id = 200n + BigInt(zone.length);
        const written = { ...emptyThing(id), tstz: '2030-01-02T03:04:05.678901Z', ts: '2030-01-02T03:04:05.678901', tsDate: new Date('2030-01-02T03:04:05.678Z') };
        await zoned.put(written);
        expect(await store.get(id)).toEqual(written);
        expect(await zoned.get(2n)).toEqual(edgeThings()[1]);
        await zoned.close();
      },
    );

    it('keeps a 1 MB text value byte for byte', async () => {
      const t = await store.get(-9223372036854775808n);
      expect(t?.s?.length).toBe(MB_TEXT.length);
      expect(t?.s === MB_TEXT).toBe(true);
    });
  });
}
