import { beforeAll, describe, expect, it } from 'vitest';
import { LosslessNumber, isLosslessNumber, valuesEqual, type Store } from '../../src/index.js';
import { entityHash } from '../../src/adapter.js';
import type { Backend, BackendKind } from '../support/backends.js';
import { emptyThing, thingDdl, thingMapping, type Thing } from './fixtures.js';
import {
  JSON_CASES,
  docDdl,
  docMapping,
  edgeThings,
  expectedDoc,
  jsonVariants,
  withoutNegativeZero,
  type Doc,
} from './types.js';

/** Instants before 1970 and at the ends of four-digit years, to the millisecond. */
const PRE_EPOCH = [
  new Date(-1),
  new Date(-86_400_001),
  new Date('0001-01-01T00:00:00.001Z'),
  new Date('9999-12-31T23:59:59.999Z'),
  new Date('1900-02-28T13:14:15.016Z'),
];

/** Variations of every field, so a hash that ignored one would be caught. */
function variedThings(kind: BackendKind): Thing[] {
  // MySQL's TIMESTAMP holds 1970–2038 only.
  const early = kind === 'mysql' ? [] : PRE_EPOCH;
  return Array.from({ length: 60 }, (_, i) => ({
    ...emptyThing(BigInt(1000 + i), i + 1),
    nInt: i % 7 === 0 ? null : i * 1000 - 30_000,
    nNum: i % 5 === 0 ? null : i % 4 === 0 ? `${i - 30}` : `${i - 30}.${'5'.repeat(i % 4)}`,
    s: i % 6 === 0 ? '' : i % 6 === 1 ? null : `text ${i} "quoted" \\ back\nline ü`,
    b: i % 3 === 0 ? null : i % 2 === 0,
    tstz: i % 4 === 0 ? null : `${1970 + i}-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:00:00.${String(i).padStart(6, '0')}Z`,
    tsDate:
      i % 4 === 1
        ? null
        : i % 10 === 3 && early.length > 0
          ? (early[i % early.length] as Date)
          : new Date(Date.UTC(1971 + i, i % 12, 1, 0, 0, 0, i * 7)),
    ts: i % 4 === 2 ? null : `2024-01-0${(i % 9) + 1}T12:34:56.${String(999_999 - i).padStart(6, '0')}`,
    d: i % 4 === 3 ? null : `20${String(i).padStart(2, '0')}-12-31`,
    j: [null, { k: i, nested: { é: [i, 'x'], a: true } }, [i, { bb: 1, a: 2 }], `str ${i}`, i, false][i % 6],
    bin: i % 3 === 0 ? null : Buffer.from([i, 0, 255 - i]),
    u: i % 2 === 0 ? null : `0000000${i % 10}-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
  }));
}

const sum = (things: readonly object[], ignore: ReadonlySet<string>): bigint =>
  things.reduce((acc, t) => acc + entityHash(t, ignore), 0n);

/**
 * Verification's pushdown: every engine hashes an entity's canonical form
 * inside the database to the same value JS computes over the same entity —
 * so hashes of two different engines can be compared directly.
 */
export function hashSuite(get: () => Backend, kind: BackendKind): void {
  describe('hashing for verification', () => {
    let store: Store<bigint, Thing>;
    const things = [...edgeThings(), ...variedThings(kind)].sort((a, b) => (a.id < b.id ? -1 : 1));
    // MariaDB cannot put JSON in canonical form in SQL: its hashes do that in JS, beside the SQL's share.
    const ignore: ReadonlySet<string> = new Set();
    beforeAll(async () => {
      const backend = get();
      const table = backend.unique('hashed');
      await backend.ddl(thingDdl(table));
      store = backend.store(thingMapping(table));
      await store.setup();
      await store.writeIfNewer(things);
    });

    it('reads back every entity exactly as written (so hashes over them can be compared across engines)', async () => {
      const read: Thing[] = [];
      for await (const chunk of store.scan()) read.push(...chunk);
      expect(read.map((t) => ({ ...t, bin: t.bin && Buffer.from(t.bin) }))).toEqual(
        things.map((t) => ({ ...t, bin: t.bin && Buffer.from(t.bin) })),
      );
    });

    // The memory store has no database to push hashing into: verification hashes its entities in JS (test/verify).
    const inDatabase = (name: string, fn: () => Promise<void>): void => {
      if (kind !== 'memory') it(name, fn);
    };
    inDatabase(
      'hashes inside the database exactly as JS hashes the same entities (NULL, empty string, µs, numerics, JSON key order, bytes)',
      async () => {
        expect(store.hashing?.hashUnsupported(ignore)).toBeUndefined();
        expect(await store.hashing?.hashRange({}, ignore)).toEqual({ count: things.length, sum: sum(things, ignore) });
        const inRange = things.filter((t) => t.id > 2n && t.id <= 1030n);
        expect(await store.hashing?.hashRange({ after: 2n, through: 1030n }, ignore)).toEqual({
          count: inRange.length,
          sum: sum(inRange, ignore),
        });
        expect(await store.hashing?.hashRange({ after: 1030n, through: 1030n }, ignore)).toEqual({ count: 0, sum: 0n });
      },
    );

    inDatabase('hashes the parts of a range cut at given keys in one pass, each as JS hashes it', async () => {
      const splits = [1005n, 1006n, 1030n, 1059n];
      const bounds = [2n, ...splits, undefined];
      const parts = await store.hashing?.hashParts({ after: 2n }, splits, ignore);
      expect(parts).toEqual(
        bounds.slice(0, -1).map((lo, i) => {
          const hi = bounds[i + 1];
          const inPart = things.filter((t) => t.id > (lo as bigint) && (hi === undefined || t.id <= hi));
          return { count: inPart.length, sum: sum(inPart, ignore) };
        }),
      );
    });

    inDatabase('a change of one field, or NULL against an empty string, or 1 µs, changes the hash', async () => {
      const base = things.find((t) => t.id === 1002n) as Thing;
      const before = await store.hashing?.hashRange({ after: 1001n, through: 1002n }, ignore);
      for (const change of [
        { s: '' },
        { s: null },
        { tstz: '1972-03-12T02:00:00.000003Z' },
        { nNum: '-28.56' },
        { b: !base.b },
        { j: { a: 2, bb: 1, c: 0 } },
      ] as Partial<Thing>[]) {
        await store.put({ ...base, ...change, version: base.version + 1 });
        const after = await store.hashing?.hashRange({ after: 1001n, through: 1002n }, ignore);
        const expected = entityHash({ ...base, ...change, version: base.version + 1 }, ignore);
        expect(after?.sum, JSON.stringify(Object.keys(change))).toBe(expected);
        expect(after?.sum).not.toBe(before?.sum);
      }
      await store.put(base);
      expect(await store.hashing?.hashRange({ after: 1001n, through: 1002n }, ignore)).toEqual(before);
    });

    if (kind === 'mysql') {
      it('MariaDB says which field its hashes put in canonical form in JS', () => {
        expect(store.hashing?.hashedInJs?.(new Set())).toMatch(/field "j" \(json\) put in canonical form in JS/);
        expect(store.hashing?.hashedInJs?.(new Set(['j']))).toBeUndefined();
      });
    }

    it('finds the key at a position within a range (segment bounds)', async () => {
      expect(await store.keyReads?.keyAt({}, 1)).toBe(things[0]?.id);
      expect(await store.keyReads?.keyAt({ after: 1000n }, 3)).toBe(1003n);
      expect(await store.keyReads?.keyAt({ after: 1000n, through: 1002n }, 3)).toBeUndefined();
      expect(await store.keyReads?.keyAt({}, things.length)).toBe(things.at(-1)?.id);
      expect(await store.keyReads?.keyAt({}, things.length + 1)).toBeUndefined();
    });

    it('finds the keys at every step of a range in one read, as keyAt finds each (cut points)', async () => {
      const keysEvery = store.keyReads?.keysEvery?.bind(store.keyReads);
      if (!keysEvery) return; // the store has only keyAt (verification calls it once per cut)
      const ids = things.map((t) => t.id);
      const every = (after: bigint | undefined, through: bigint | undefined, step: number, limit: number): bigint[] => {
        const inRange = ids.filter(
          (id) => (after === undefined || id > after) && (through === undefined || id <= through),
        );
        return inRange.filter((_id, i) => (i + 1) % step === 0).slice(0, limit);
      };
      for (const [after, through, step, limit] of [
        [undefined, undefined, 1, 3],
        [undefined, undefined, 2, 100],
        [1000n, undefined, 3, 4],
        [1000n, 1010n, 4, 10],
        [2n, 1030n, 5, 2],
        [1030n, 1030n, 1, 5],
      ] as const)
        expect(await keysEvery({ after, through }, step, limit), `${after}..${through} every ${step}`).toEqual(
          every(after, through, step, limit),
        );
      expect(await keysEvery({}, 1, 0)).toEqual([]);
    });
  });
  jsonHashSuite(get, kind);
}

/** Values that a double, a lost -0 or a NULL would make look like a JSON case's: [case id, look-alike]. */
const LOOKALIKES: readonly (readonly [bigint, unknown])[] = [
  [1n, { big: 12345678901234567000, pi: 3.141592653589793, small: 0, n: 0 }],
  [
    1n,
    {
      big: new LosslessNumber('12345678901234567890'),
      pi: new LosslessNumber('3.14159265358979323846264338'),
      small: new LosslessNumber('1e-400'),
      n: 0,
    },
  ],
  [2n, 9007199254740992],
  [3n, 0],
  [4n, 0],
  [6n, new LosslessNumber('42.50000000000000000001')],
  [10n, { a: null, b: [null, 0, 0, 1e21, 5e-324, 0.1] }],
  [15n, [-0.1]],
  [5n, null], // JSON null against SQL NULL
  [5n, 'null'],
  [5n, {}],
  [9n, 'null'],
];

function hasNegativeZero(value: unknown): boolean {
  if (Object.is(value, -0)) return true;
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return false;
  return Object.values(value).some(hasNegativeZero);
}

/**
 * JSON values a double, -0 or SQL NULL would blur: every engine hashes each
 * as JS hashes it (so equal values hash equal across engines), and apart
 * from its look-alike wherever the engine keeps the difference.
 */
function jsonHashSuite(get: () => Backend, kind: BackendKind): void {
  for (const type of jsonVariants(kind)) {
    const jsonb = kind === 'postgres' && type === 'jsonb';
    describe(`hashing JSON values exactly (${kind}${kind === 'postgres' ? ` ${type}` : ''})`, () => {
      let store: Store<bigint, Doc>;
      let table: string;
      const none: ReadonlySet<string> = new Set();
      const byId = new Map(JSON_CASES.map((c) => [c.id, c]));
      /** Writes `j` at one key and answers what it reads back, the JS hash of that, and the in-database hash (when the store has one). */
      const probe = async (j: unknown): Promise<{ read: Doc; js: bigint; db: bigint | undefined }> => {
        await store.put({ id: 1n, version: 1, j });
        const read = (await store.get(1n)) as Doc;
        const db =
          store.hashing?.hashUnsupported(none) === undefined
            ? (await store.hashing?.hashRange({}, none))?.sum
            : undefined;
        return { read, js: entityHash(read, none), db };
      };
      beforeAll(async () => {
        const backend = get();
        table = backend.unique(`hashed_docs_${type}`);
        await backend.ddl(docDdl(table, type));
        store = backend.store(docMapping(table));
        await store.setup();
      });

      it('hashes each value in the database as JS hashes it, read back or as written (equal values hash equal on every engine)', async () => {
        for (const c of JSON_CASES) {
          const { read, js, db } = await probe(c.written);
          expect(read, c.what).toEqual({ ...expectedDoc(c, type, kind), id: 1n });
          if (!(jsonb && hasNegativeZero(expectedDoc(c, 'json', kind).j)))
            expect(js, c.what).toBe(entityHash({ id: 1n, version: 1, j: c.written }, none));
          if (kind === 'memory') continue; // hashed in JS by verification
          // A PostgreSQL json column keeps -0, which jsonb cannot print: such a row is marked, so rows decide.
          if (kind === 'postgres' && type === 'json' && hasNegativeZero(read.j)) expect(db, c.what).not.toBe(js);
          else expect(db, c.what).toBe(js);
        }
      });

      it('hashes a value apart from its look-alike: beyond a double, -0 against 0, 1e-400 against 0, JSON null against SQL NULL', async () => {
        for (const [id, lookalike] of LOOKALIKES) {
          const c = byId.get(id) as (typeof JSON_CASES)[number];
          const [x, y] = [await probe(c.written), await probe(lookalike)];
          if (jsonb && valuesEqual(withoutNegativeZero(c.written), withoutNegativeZero(lookalike))) {
            expect(x.read).toEqual(y.read); // jsonb reads -0 back as 0 (check() warns)
            continue;
          }
          expect(x.js, `${c.what} against its look-alike`).not.toBe(y.js);
          if (x.db !== undefined || y.db !== undefined)
            expect(x.db, `${c.what} against its look-alike, in the database`).not.toBe(y.db);
        }
      });

      if (kind === 'postgres') {
        it('hashes a top-level number PostgreSQL keeps with a scale (1.50, written without midair) as JS hashes the 1.5 it reads', async () => {
          await store.put({ id: 1n, version: 1, j: 0 });
          await get().raw(`UPDATE ${table} SET j = '1.50' WHERE id = 1`);
          const read = (await store.get(1n)) as Doc;
          expect(read.j).toBe(1.5);
          expect((await store.hashing?.hashRange({}, none))?.sum).toBe(entityHash(read, none));
        });
      }

      if (kind === 'mysql') {
        it('MariaDB hashes in SQL beside the JSON field, which it puts in canonical form in JS', () => {
          expect(store.hashing?.hashUnsupported(none)).toBeUndefined();
          expect(store.hashing?.hashedInJs?.(none)).toMatch(/field "j" \(json\)/);
        });
      }
    });
  }
}
