import { describe, expect, it } from 'vitest';
import {
  JSON_NULL,
  col,
  defineMigration,
  keyId,
  memoryControlStore,
  sqlMapping,
  type Store,
  type VerifyOptions,
} from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type BackendKind } from '../support/backends.js';

/**
 * The two fast hashes against real databases: PostgreSQL's pair hash (two
 * stores of one shape) and MariaDB's split hash (SQL beside JS for JSON).
 * Each plants differences a wrong fast hash could miss, and checks that
 * verification still finds exactly those.
 */
interface Account {
  id: bigint;
  meta: unknown;
  note: string | null;
  seenAt: string;
  blob: Uint8Array | null;
  active: boolean;
  tags: unknown;
  zip: string | null;
}

const PG_DDL = (table: string, note = 'text'): string =>
  `CREATE TABLE ${table} (id bigint PRIMARY KEY, meta json, note ${note}, seen_at timestamptz NOT NULL, bin bytea, active boolean NOT NULL, tags jsonb, zip text)`;
const MARIA_DDL = (table: string): string =>
  `CREATE TABLE ${table} (id bigint PRIMARY KEY, meta json, note varchar(200), seen_at timestamp(6) NOT NULL, bin varbinary(64), active tinyint(1) NOT NULL, tags json, zip varchar(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

// Two JSON fields with others before, between and after them in field order: the split hash's pieces all carry text.
const mapping = (table: string) =>
  sqlMapping<Account>({
    key: 'id',
    tables: [
      {
        table,
        columns: {
          id: col.bigint('id'),
          meta: col.json('meta'),
          note: col.text('note'),
          seenAt: col.timestamptz('seen_at', { as: 'string' }),
          blob: col.bytes('bin'),
          active: col.boolean('active'),
          tags: col.json('tags'),
          zip: col.text('zip'),
        },
      },
    ],
  });

const N = 1200;
const account = (i: number): Account => ({
  id: BigInt(i),
  meta:
    i % 11 === 0 ? null : { plan: i % 3 ? 'pro' : 'free', limits: { seats: i % 50, big: 12345678901234 }, on: true },
  note: i % 7 === 0 ? null : `note ${i}`,
  seenAt: `2024-05-0${(i % 9) + 1}T12:00:00.${String((i * 7919) % 1_000_000).padStart(6, '0')}Z`,
  blob: i % 5 === 0 ? null : Buffer.from([i % 256, (i * 3) % 256]),
  active: i % 2 === 0,
  tags: i % 13 === 0 ? JSON_NULL : ['a', i % 4, { k: i % 3 }],
  zip: i % 4 === 0 ? null : String(10000 + i),
});
const accounts = Array.from({ length: N }, (_, i) => account(i + 1));

const opts: VerifyOptions<Account> = {
  segmentRows: 300,
  targetSegmentMs: 0,
  leafRows: 16,
  bisectionFactor: 8,
  recheckDelayMs: 20,
};
const laterByOneMicrosecond = (iso: string): string =>
  iso.replace(/(\d{6})Z$/, (_m, us: string) => `${String(Number(us) + 1).padStart(6, '0')}Z`);

const skip = availabilityOfAll('postgres', 'mysql');
describe.skipIf(!skip.run)(
  `fast verification hashes on real databases${skip.run ? '' : ` — skipped: ${skip.reason}`}`,
  () => {
    const backends = suiteBackends<BackendKind>('postgres', 'mysql');

    const tables = new Map<Store<bigint, Account>, string>();
    async function table(kind: 'postgres' | 'mysql', name: string, note?: string): Promise<Store<bigint, Account>> {
      const b = backends[kind];
      const t = b.unique(name);
      await b.ddl({ postgres: PG_DDL(t, note), mysql: MARIA_DDL(t) });
      const store = b.store<bigint, Account>(mapping(t));
      await store.setup();
      await store.writeIfNewer(accounts);
      tables.set(store, t);
      return store;
    }

    /** Plants one difference per kind a fast hash could blur; resolves the keys and fields verification must report. */
    async function plant(target: Store<bigint, Account>): Promise<Map<string, string[]>> {
      const at = (i: number): Account => accounts[i - 1] as Account;
      await target.put({ ...at(101), meta: { plan: 'pro', limits: { seats: 2, big: 12345678901234 }, on: true } }); // a nested JSON value
      await target.put({ ...at(202), seenAt: laterByOneMicrosecond(at(202).seenAt) }); // 1 µs
      await target.put({ ...at(301), note: '' }); // an empty string for a value
      await target.put({ ...at(7 * 50), note: '' }); // an empty string for NULL
      await target.put({ ...at(405), tags: JSON_NULL }); // JSON null for an array
      await target.put({ ...at(11 * 50), meta: JSON_NULL }); // JSON null for SQL NULL
      await target.put({ ...at(606), blob: Buffer.from([1, 2, 3]) });
      await target.put({ ...at(707), active: !at(707).active });
      await target.put({ ...at(1200), zip: '99999' }); // the last key
      return new Map([
        [keyId(101n), ['meta']],
        [keyId(202n), ['seenAt']],
        [keyId(301n), ['note']],
        [keyId(350n), ['note']],
        [keyId(405n), ['tags']],
        [keyId(550n), ['meta']],
        [keyId(606n), ['blob']],
        [keyId(707n), ['active']],
        [keyId(1200n), ['zip']],
      ]);
    }

    const found = (r: { different: { keys: readonly { keyId: string; fields: readonly string[] }[] } }) =>
      new Map(r.different.keys.map((k) => [k.keyId, [...k.fields]]));

    it('PostgreSQL → PostgreSQL of one shape: the pair hash finds every planted difference, and JSON text reordered is none', async () => {
      const old = await table('postgres', 'pair_old');
      const neu = await table('postgres', 'pair_new');
      const m = defineMigration({ name: 'pair', old, new: neu, control: memoryControlStore() });
      try {
        const equal = await m.verify(opts);
        expect(equal).toMatchObject({
          status: 'equal',
          matched: N,
          old: { rowHash: 'pair' },
          new: { rowHash: 'pair' },
        });
        const planted = await plant(neu);
        // The same JSON object with its keys in another order (a json column keeps the text): equal as entities.
        await backends.postgres.raw(
          `UPDATE ${tables.get(neu) ?? ''} SET meta = '{"on": true, "limits": {"big": 12345678901234, "seats": 8}, "plan": "pro"}' WHERE id = 8`,
        );
        const report = await m.verify(opts);
        expect(report.old.rowHash).toBe('pair');
        expect(found(report)).toEqual(planted);
        expect(report).toMatchObject({ matched: N - planted.size, missing: { total: 0 }, extra: { total: 0 } });
      } finally {
        await m.close();
      }
    });

    it('PostgreSQL → PostgreSQL of different shapes (a column type differs) falls back to the canonical hash and finds the same', async () => {
      const old = await table('postgres', 'shape_old');
      const neu = await table('postgres', 'shape_new', 'varchar(200)');
      const m = defineMigration({ name: 'shapes', old, new: neu, control: memoryControlStore() });
      try {
        const equal = await m.verify(opts);
        expect(equal).toMatchObject({
          status: 'equal',
          matched: N,
          old: { rowHash: 'canonical' },
          new: { rowHash: 'canonical' },
        });
        const planted = await plant(neu);
        const report = await m.verify(opts);
        expect(report.old.rowHash).toBe('canonical');
        expect(found(report)).toEqual(planted);
        // Ignoring a field changes what is hashed, not the shape's agreement; turned off, the pair hash is not used.
        const same = await table('postgres', 'shape_same');
        const off = defineMigration({ name: 'off', old, new: same, control: memoryControlStore() });
        try {
          expect(await off.verify({ ...opts, pairHash: false })).toMatchObject({
            status: 'equal',
            old: { rowHash: 'canonical' },
          });
          expect(await off.verify({ ...opts, ignoreFields: ['note'] })).toMatchObject({
            status: 'equal',
            old: { rowHash: 'pair' },
          });
        } finally {
          await off.close();
        }
      } finally {
        await m.close();
      }
    });

    it.each([
      ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
      ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
    ] as const)(
      '%s: MariaDB hashes in SQL beside its two JSON fields and every planted difference is found',
      async (_l, from, to) => {
        const old = await table(from, 'split_old');
        const neu = await table(to, 'split_new');
        const m = defineMigration({ name: 'split', old, new: neu, control: memoryControlStore() });
        try {
          const equal = await m.verify(opts);
          expect(equal).toMatchObject({ status: 'equal', matched: N });
          const maria = from === 'mysql' ? equal.old : equal.new;
          expect(maria).toMatchObject({ hashing: 'database', rowHash: 'canonical' });
          expect(maria.reason).toMatch(/fields "meta" \(json\), "tags" \(json\) put in canonical form in JS/);
          const planted = await plant(neu);
          const report = await m.verify(opts);
          expect(found(report)).toEqual(planted);
          expect(report).toMatchObject({ matched: N - planted.size, missing: { total: 0 }, extra: { total: 0 } });
          expect(report.segments.rowCompared).toBeLessThanOrEqual(2 * planted.size);
        } finally {
          await m.close();
        }
      },
    );

    it('race: the pair hash under writes to both sides while it runs reports exactly the planted differences', async () => {
      const old = await table('postgres', 'race_old');
      const neu = await table('postgres', 'race_new');
      const planted = await plant(neu);
      const m = defineMigration({ name: 'race', old, new: neu, control: memoryControlStore() });
      let live = true;
      let writes = 0;
      // Seeded choice of keys away from the planted ones; each write lands in old, then in new.
      let seed = 42;
      const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
      const writer = (async () => {
        while (live) {
          const i = 800 + (next() % 390);
          const changed = { ...(accounts[i - 1] as Account), note: `live ${writes}`, zip: null };
          await old.put(changed);
          await neu.put(changed);
          writes++;
        }
      })();
      try {
        const report = await m.verify({ ...opts, segmentRows: 100, rechecks: 3, recheckDelayMs: 50 });
        expect(report.old.rowHash).toBe('pair');
        expect(found(report)).toEqual(planted);
      } finally {
        live = false;
        await writer;
        await m.close();
      }
      expect(writes).toBeGreaterThan(10);
    });
  },
);
