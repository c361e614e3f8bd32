import { beforeAll, describe, expect, it } from 'vitest';
import { entityHash, type Store } from '../../src/index.js';
import type { Backend, BackendKind } from '../support/backends.js';
import { emptyThing, thingDdl, thingMapping, type Thing } from './fixtures.js';
import { edgeThings } from './types.js';

/** Instants before 1970 and at the ends of four-digit years, to the millisecond. */
const PRE_EPOCH = [new Date(-1), new Date(-86_400_001), new Date('0001-01-01T00:00:00.001Z'), new Date('9999-12-31T23:59:59.999Z'), new Date('1900-02-28T13:14:15.016Z')];

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
    tsDate: i % 4 === 1 ? null : i % 10 === 3 && early.length > 0 ? (early[i % early.length] as Date) : new Date(Date.UTC(1971 + i, i % 12, 1, 0, 0, 0, i * 7)),
    ts: i % 4 === 2 ? null : `2024-01-0${(i % 9) + 1}T12:34:56.${String(999_999 - i).padStart(6, '0')}`,
    d: i % 4 === 3 ? null : `20${String(i).padStart(2, '0')}-12-31`,
    j: [null, { k: i, nested: { é: [i, 'x'], a: true } }, [i, { bb: 1, a: 2 }], `str ${i}`, i, false][i % 6],
    bin: i % 3 === 0 ? null : Buffer.from([i, 0, 255 - i]),
    u: i % 2 === 0 ? null : `0000000${i % 10}-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
  }));
}

const sum = (things: readonly object[], ignore: ReadonlySet<string>): bigint => things.reduce((acc, t) => acc + entityHash(t, ignore), 0n);

/**
 * Verification's pushdown: every engine hashes an entity's canonical form
 * inside the database to the same value JS computes over the same entity —
 * so hashes of two different engines can be compared directly.
 */
export function hashSuite(get: () => Backend, kind: BackendKind): void {
  describe('hashing for verification', () => {
    let store: Store<bigint, Thing>;
    const things = [...edgeThings(), ...variedThings(kind)].sort((a, b) => (a.id < b.id ? -1 : 1));
    // MariaDB cannot put JSON in canonical form in SQL: it is left out here and hashed in JS by verification.
    const ignore = new Set(kind === 'mysql' ? ['j'] : []);
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
      expect(read.map((t) => ({ ...t, bin: t.bin && Buffer.from(t.bin) }))).toEqual(things.map((t) => ({ ...t, bin: t.bin && Buffer.from(t.bin) })));
    });

    // The memory store has no database to push hashing into: verification hashes its entities in JS (test/verify).
    const inDatabase = (name: string, fn: () => Promise<void>): void => {
      if (kind !== 'memory') it(name, fn);
    };
    inDatabase('hashes inside the database exactly as JS hashes the same entities (NULL, empty string, µs, numerics, JSON key order, bytes)', async () => {
      expect(store.hashUnsupported?.(ignore)).toBeUndefined();
      expect(await store.hashRange?.({}, ignore)).toEqual({ count: things.length, sum: sum(things, ignore) });
      const inRange = things.filter((t) => t.id > 2n && t.id <= 1030n);
      expect(await store.hashRange?.({ after: 2n, through: 1030n }, ignore)).toEqual({ count: inRange.length, sum: sum(inRange, ignore) });
      expect(await store.hashRange?.({ after: 1030n, through: 1030n }, ignore)).toEqual({ count: 0, sum: 0n });
    });

    inDatabase('hashes the parts of a range cut at given keys in one pass, each as JS hashes it', async () => {
      const splits = [1005n, 1006n, 1030n, 1059n];
      const bounds = [2n, ...splits, undefined];
      const parts = await store.hashParts?.({ after: 2n }, splits, ignore);
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
      const before = await store.hashRange?.({ after: 1001n, through: 1002n }, ignore);
      for (const change of [{ s: '' }, { s: null }, { tstz: '1972-03-12T02:00:00.000003Z' }, { nNum: '-28.56' }, { b: !base.b }, { j: { a: 2, bb: 1, c: 0 } }] as Partial<Thing>[]) {
        await store.put({ ...base, ...change, version: base.version + 1 });
        const after = await store.hashRange?.({ after: 1001n, through: 1002n }, ignore);
        const expected = entityHash({ ...base, ...change, version: base.version + 1 }, ignore);
        expect(after?.sum, JSON.stringify(Object.keys(change))).toBe(expected);
        if (!(kind === 'mysql' && 'j' in change)) expect(after?.sum).not.toBe(before?.sum);
      }
      await store.put(base);
      expect(await store.hashRange?.({ after: 1001n, through: 1002n }, ignore)).toEqual(before);
    });

    if (kind === 'mysql') {
      it('MariaDB says which field it cannot hash in SQL', () => {
        expect(store.hashUnsupported?.(new Set())).toMatch(/field "j" \(json\)/);
      });
    }

    it('finds the key at a position within a range (segment bounds)', async () => {
      expect(await store.keyAt?.({}, 1)).toBe(things[0]?.id);
      expect(await store.keyAt?.({ after: 1000n }, 3)).toBe(1003n);
      expect(await store.keyAt?.({ after: 1000n, through: 1002n }, 3)).toBeUndefined();
      expect(await store.keyAt?.({}, things.length)).toBe(things.at(-1)?.id);
      expect(await store.keyAt?.({}, things.length + 1)).toBeUndefined();
    });
  });
}
