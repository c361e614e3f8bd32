import { beforeAll, describe, expect, it } from 'vitest';
import {
  JSON_NULL,
  LosslessNumber,
  col,
  isLosslessNumber,
  sqlMapping,
  type SqlMapping,
  type Store,
} from '../../src/index.js';
import { isSql, type Backend, type BackendKind, type Ddl } from '../support/backends.js';
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

/** An entity with one JSON field, for the values a double or SQL NULL would lose. */
export interface Doc {
  id: bigint;
  version: number;
  j: unknown;
}

export function docMapping(table: string): SqlMapping<Doc> {
  return sqlMapping<Doc>({
    key: 'id',
    version: 'version',
    tables: [{ table, columns: { id: col.bigint('id'), version: col.integer('version'), j: col.json('j') } }],
  });
}

/** The column types a JSON field is tried in: PostgreSQL json and jsonb, MariaDB JSON (LONGTEXT), SQLite TEXT, memory. */
export function jsonVariants(kind: BackendKind): readonly ('json' | 'jsonb')[] {
  return kind === 'postgres' ? ['json', 'jsonb'] : ['json'];
}

export function docDdl(table: string, type: 'json' | 'jsonb'): Ddl {
  return {
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version bigint NOT NULL, j ${type})`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version bigint NOT NULL, j json) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, j TEXT)`,
  };
}

const TINY = `0.${'0'.repeat(399)}1`;
const lossless = (text: string): LosslessNumber => new LosslessNumber(text);

/** A JSON value as written, and as every engine reads it back (default: as written). */
export interface JsonCase {
  readonly id: bigint;
  readonly what: string;
  readonly written: unknown;
  readonly read?: unknown;
}

/** The document, every number beyond a double, -0, JSON null, top-level scalars, and SQL NULL. */
export const JSON_CASES: readonly JsonCase[] = [
  {
    id: 1n,
    what: 'numbers beyond a double, 1e-400 and -0 in an object',
    written: {
      big: lossless('12345678901234567890'),
      pi: lossless('3.14159265358979323846264338'),
      small: lossless('1e-400'),
      n: -0,
    },
    read: {
      big: lossless('12345678901234567890'),
      pi: lossless('3.14159265358979323846264338'),
      small: lossless(TINY),
      n: -0,
    },
  },
  { id: 2n, what: 'a top-level integer beyond 2^53', written: lossless('9007199254740993') },
  { id: 3n, what: 'a top-level -0', written: -0 },
  { id: 4n, what: 'a top-level 1e-400', written: lossless('1e-400'), read: lossless(TINY) },
  { id: 5n, what: 'a top-level JSON null', written: JSON_NULL },
  { id: 6n, what: 'a top-level number', written: 42.5 },
  { id: 7n, what: 'a top-level string', written: 'a string' },
  { id: 8n, what: 'a top-level true', written: true },
  { id: 9n, what: 'SQL NULL', written: null },
  {
    id: 10n,
    what: 'null, -0, 0 and doubles in exponent form inside',
    written: { a: null, b: [null, -0, 0, 1e21, 5e-324, 0.1] },
  },
  {
    id: 11n,
    what: 'numbers spelled with trailing zeros or an exponent',
    written: { x: lossless('1.50'), y: lossless('1e3'), z: lossless('-0.0') },
    read: { x: 1.5, y: 1000, z: -0 },
  },
  {
    id: 12n,
    what: 'a bigint and a long integer with a zero fraction',
    written: [12345678901234567890n, lossless('12345678901234567890.000')],
    read: [lossless('12345678901234567890'), lossless('12345678901234567890')],
  },
  { id: 13n, what: 'the text "null"', written: 'null' },
  { id: 14n, what: 'a top-level false', written: false },
  { id: 15n, what: 'a long decimal inside an array', written: [lossless('-0.1000000000000000055511151231257827')] },
];

/** What jsonb keeps of a value: everything but -0 (check() warns). */
export function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null && !isLosslessNumber(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  return value;
}

/** The entity a case reads back as from a column of `type` (the memory store keeps entities as given). */
export function expectedDoc(c: JsonCase, type: 'json' | 'jsonb', kind: BackendKind): Doc {
  const read = 'read' in c && kind !== 'memory' ? c.read : c.written;
  return { id: c.id, version: 1, j: type === 'jsonb' ? withoutNegativeZero(read) : read };
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
      const things = [
        ...edgeThings(),
        { ...emptyThing(77n), s: 'tab\there, newline\nthere, backslash \\ and \\N, \r', j: { 'quote"': '\\N' } },
      ];
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

    if (sql)
      it('normalises instants written with any offset to the same UTC instant', async () => {
        const id = 100n;
        await store.put({
          ...emptyThing(id),
          tstz: '2024-06-01T12:00:00.123456+05:30',
          tsDate: new Date('2024-06-01T06:30:00.123Z'),
        });
        const got = await store.get(id);
        expect(got?.tstz).toBe('2024-06-01T06:30:00.123456Z');
        expect(got?.tsDate?.toISOString()).toBe('2024-06-01T06:30:00.123Z');
      });

    if (sql)
      it.each(['Asia/Kolkata', 'America/Los_Angeles', 'Pacific/Chatham'] as const)(
        'reads and writes the same instants from a session in %s',
        async (zone) => {
          const zoned = get().storeInZone<bigint, Thing>(thingMapping(table), zone);
          const id = 200n + BigInt(zone.length);
          const written = {
            ...emptyThing(id),
            tstz: '2030-01-02T03:04:05.678901Z',
            ts: '2030-01-02T03:04:05.678901',
            tsDate: new Date('2030-01-02T03:04:05.678Z'),
          };
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

  for (const type of jsonVariants(kind)) {
    describe(`JSON values kept exactly (${kind === 'postgres' ? type : kind === 'mysql' ? 'MariaDB JSON' : kind === 'sqlite' ? 'TEXT' : kind === 'redis' ? 'Redis hash field' : 'memory'})`, () => {
      let table: string;
      let store: Store<bigint, Doc>;
      beforeAll(async () => {
        const backend = get();
        table = backend.unique(`docs_${type}`);
        await backend.ddl(docDdl(table, type));
        store = backend.store(docMapping(table));
        await store.setup();
        for (const c of JSON_CASES) await store.put({ id: c.id, version: 1, j: c.written });
      });

      it.each(JSON_CASES.map((c) => [c.what, c] as const))('returns %s exactly', async (_what, c) => {
        expect(await store.get(c.id)).toEqual(expectedDoc(c, type, kind));
      });

      it('keeps -0 where the column keeps it (not jsonb), and returns plain numbers where a double holds them', async () => {
        const j = (await store.get(3n))?.j;
        expect(Object.is(j, type === 'jsonb' ? 0 : -0)).toBe(true);
        expect(typeof (await store.get(6n))?.j).toBe('number');
      });

      it('returns the same values written in one bulk write (the COPY path on PostgreSQL), and through a scan', async () => {
        const backend = get();
        const bulkTable = backend.unique(`docs_bulk_${type}`);
        await backend.ddl(docDdl(bulkTable, type));
        const bulk = backend.store<bigint, Doc>(docMapping(bulkTable));
        await bulk.setup();
        expect(await bulk.writeIfNewer(JSON_CASES.map((c) => ({ id: c.id, version: 1, j: c.written })))).toMatchObject({
          inserted: JSON_CASES.length,
        });
        const scanned: Doc[] = [];
        for await (const chunk of bulk.scan()) scanned.push(...chunk);
        expect(scanned).toEqual(JSON_CASES.map((c) => expectedDoc(c, type, kind)));
      });

      if (isSql(kind)) {
        it('stores JSON null as JSON text and SQL NULL as NULL, never one for the other', async () => {
          const nulls = await get().raw(`SELECT id FROM ${table} WHERE j IS NULL`);
          expect(nulls.map((r) => String(r[0]))).toEqual(['9']);
          expect((await store.get(5n))?.j).toBe(JSON_NULL);
          expect((await store.get(9n))?.j).toBeNull();
        });

        it(
          type === 'jsonb' ? 'check() warns that jsonb reads -0 back as 0' : 'check() finds nothing lost',
          async () => {
            const report = await store.check();
            if (type === 'jsonb') {
              expect(report.problems).toEqual([
                expect.objectContaining({ code: 'PRECISION_LOSS', severity: 'warning', field: 'j' }),
              ]);
              expect(report.problems[0]?.message).toContain('-0');
              expect(report.ok).toBe(true);
            } else {
              expect(report.problems).toEqual([]);
            }
          },
        );
      }
    });
  }
}
