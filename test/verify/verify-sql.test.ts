import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  col,
  defineMigration,
  keyId,
  memoryControlStore,
  sqlMapping,
  type Migration,
  type Store,
} from '../../src/index.js';
import { availability, openBackend, type Backend, type BackendKind } from '../support/backends.js';

interface Profile {
  id: bigint;
  email: string;
  nick: string | null;
  balance: string;
  active: boolean;
  seenAt: string;
  prefs: unknown;
  version: number;
}

const DDL = (table: string): Partial<Record<'postgres' | 'mysql' | 'sqlite', string>> => ({
  postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email text NOT NULL, nick text, balance numeric(20,4) NOT NULL, active boolean NOT NULL, seen_at timestamptz NOT NULL, prefs jsonb, version integer NOT NULL)`,
  mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email varchar(200) NOT NULL, nick varchar(200), balance decimal(20,4) NOT NULL, active tinyint(1) NOT NULL, seen_at timestamp(6) NOT NULL, prefs json, version int NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nick TEXT, balance TEXT NOT NULL, active INTEGER NOT NULL, seen_at TEXT NOT NULL, prefs TEXT, version INTEGER NOT NULL)`,
});

async function profiles(backend: Backend, name: string): Promise<{ table: string; store: Store<bigint, Profile> }> {
  const table = backend.unique(name);
  await backend.ddl(DDL(table));
  const store = backend.store<bigint, Profile>(
    sqlMapping<Profile>({
      key: 'id',
      version: 'version',
      tables: [
        {
          table,
          columns: {
            id: col.bigint('id'),
            email: col.text('email'),
            nick: col.text('nick'),
            balance: col.numeric('balance'),
            active: col.boolean('active'),
            seenAt: col.timestamptz('seen_at', { as: 'string' }),
            prefs: col.json('prefs'),
            version: col.integer('version'),
          },
        },
      ],
    }),
  );
  await store.setup();
  return { table, store };
}

const profile = (i: number): Profile => ({
  id: BigInt(i),
  email: `user${i}@example.com`,
  nick: i % 3 === 0 ? null : `nick ${i}`,
  balance: `${i}.${String(i % 100).padStart(2, '0')}`.replace(/\.?0+$/, '') || '0',
  active: i % 2 === 0,
  seenAt: `2024-0${(i % 9) + 1}-1${i % 10}T1${i % 10}:00:00.${String((i * 37) % 1_000_000).padStart(6, '0')}Z`,
  prefs: { theme: i % 2 ? 'dark' : 'light', tags: [i % 5, 'x'], a: { z: 1, b: null } },
  version: 1,
});

const N = 3000;

async function seed(store: Store<bigint, Profile>): Promise<void> {
  for (let i = 1; i <= N; i += 500)
    await store.writeIfNewer(Array.from({ length: Math.min(500, N - i + 1) }, (_, j) => profile(i + j)));
}

const PAIRS = [
  ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
  ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
  ['PostgreSQL → PostgreSQL', 'postgres', 'postgres'],
  ['SQLite → PostgreSQL', 'sqlite', 'postgres'],
  ['PostgreSQL → SQLite', 'postgres', 'sqlite'],
  ['PostgreSQL → Redis', 'postgres', 'redis'],
  ['Redis → PostgreSQL', 'redis', 'postgres'],
] as const;

const needed: readonly BackendKind[] = ['postgres', 'mysql', 'redis'];
const skipped = needed.map((k) => availability(k)).filter((a) => !a.run);

describe.skipIf(skipped.length > 0)(
  `verification on real databases${skipped.length > 0 ? ` — skipped: ${skipped.map((a) => a.reason).join('; ')}` : ''}`,
  () => {
    const backends = new Map<BackendKind, Backend>();
    const open: Migration<bigint, Profile>[] = [];
    beforeAll(async () => {
      for (const kind of ['postgres', 'mysql', 'sqlite', 'redis'] as const) backends.set(kind, await openBackend(kind));
    });
    afterAll(async () => {
      await Promise.all(open.map((m) => m.close()));
      for (const b of backends.values()) await b.close();
    });
    const backend = (kind: BackendKind): Backend => backends.get(kind) as Backend;
    const migrate = (old: Store<bigint, Profile>, neu: Store<bigint, Profile>): Migration<bigint, Profile> => {
      const m = defineMigration({ name: 'profiles', old, new: neu, control: memoryControlStore(), pollMs: 20 });
      open.push(m);
      return m;
    };
    const options = { segmentRows: 500, targetSegmentMs: 0, leafRows: 32, bisectionFactor: 8, recheckDelayMs: 20 };

    it.each(PAIRS)(
      '%s: equal data is equal; each injected difference is found exactly, and reordered JSON keys are not one',
      async (_label, from, to) => {
        const old = await profiles(backend(from), 'p_old');
        const neu = await profiles(backend(to), 'p_new');
        await seed(old.store);
        await seed(neu.store);
        const m = migrate(old.store, neu.store);

        const equal = await m.verify(options);
        expect(equal).toMatchObject({
          status: 'equal',
          matched: N,
          missing: { total: 0 },
          extra: { total: 0 },
          different: { total: 0 },
        });
        // Each side hashes in its own database; MariaDB, which cannot order JSON keys in SQL, puts that field in canonical form in JS.
        expect(equal.old.hashing).toBe('database');
        expect(equal.new.hashing).toBe('database');
        if (from === 'mysql') expect(equal.old.reason).toMatch(/field "prefs" \(json\) put in canonical form in JS/);
        if (to === 'mysql') expect(equal.new.reason).toMatch(/field "prefs" \(json\) put in canonical form in JS/);
        // Two PostgreSQL tables of one shape compare with the pair hash; any other pair with the canonical form.
        const rowHash = from === 'postgres' && to === 'postgres' ? 'pair' : 'canonical';
        expect([equal.old.rowHash, equal.new.rowHash]).toEqual([rowHash, rowHash]);

        await neu.store.delete(100n); // a missing row
        await neu.store.put({ ...profile(999_999), email: 'stray@example.com' }); // an extra row
        await neu.store.put({ ...profile(200), email: 'changed@example.com' }); // one field changed
        await neu.store.put({ ...profile(300), nick: '' }); // NULL in old, empty string in new
        const p400 = profile(400);
        await neu.store.put({
          ...p400,
          seenAt: p400.seenAt.replace(/(\d{6})Z$/, (_m, us: string) => `${String(Number(us) + 1).padStart(6, '0')}Z`),
        }); // 1 µs later
        // The same JSON with its keys in another order, written behind midair's back: equal.
        const reordered = '{"a": {"b": null, "z": 1}, "tags": [0, "x"], "theme": "light"}';
        const q = to === 'mysql' ? '`' : '"';
        const target = backend(to);
        if (to === 'sqlite')
          await neu.store.put({ ...profile(500), prefs: JSON.parse(reordered) as unknown }); // stored as that text
        else if (target.rawHashSet)
          await target.rawHashSet(neu.table, '500', 'prefs', reordered); // its kept row hash now stale
        else await backend(to).raw(`UPDATE ${q}${neu.table}${q} SET prefs = '${reordered}' WHERE id = 500`);
        await old.store.delete(600n); // deleted in old, not in new

        const report = await m.verify(options);
        expect(report.status).toBe('different');
        expect(report.missing).toEqual({ total: 1, keys: [keyId(100n)] });
        expect([...report.extra.keys].sort()).toEqual([keyId(600n), keyId(999_999n)].sort());
        expect(report.extra.total).toBe(2);
        expect(new Map(report.different.keys.map((k) => [k.keyId, k.fields]))).toEqual(
          new Map([
            [keyId(200n), ['email']],
            [keyId(300n), ['nick']],
            [keyId(400n), ['seenAt']],
          ]),
        );
        expect(report.matched).toBe(N - 5);
        expect(report.changedDuringRun.total).toBe(0);
        // Bisection read only the leaves around the differences row by row.
        expect(report.segments.rowCompared).toBeLessThanOrEqual(12);
      },
    );

    it.each([
      ['PostgreSQL', 'postgres'],
      ['SQLite', 'sqlite'],
    ] as const)(
      '%s → a PostgreSQL table split in two with renamed columns: compared as entities',
      async (_label, from) => {
        interface Person {
          id: bigint;
          email: string;
          name: string | null;
          bornOn: string | null;
        }
        const oldTable = backend(from).unique('people');
        await backend(from).ddl({
          postgres: `CREATE TABLE ${oldTable} (id bigint PRIMARY KEY, email text NOT NULL, full_name text, born date)`,
          sqlite: `CREATE TABLE ${oldTable} (id INTEGER PRIMARY KEY, email TEXT NOT NULL, full_name TEXT, born TEXT)`,
        });
        const accounts = backend('postgres').unique('accounts');
        const names = backend('postgres').unique('account_names');
        await backend('postgres').ddl(
          [
            `CREATE TABLE ${accounts} (account_id bigint PRIMARY KEY, email_address text NOT NULL)`,
            `CREATE TABLE ${names} (account_id bigint PRIMARY KEY REFERENCES ${accounts}, display_name text, birthday date)`,
          ].reduce((ddl, sql) => ({ postgres: [...(ddl.postgres ?? []), sql] }), {} as { postgres?: string[] }),
        );
        const old = backend(from).store<bigint, Person>(
          sqlMapping<Person>({
            key: 'id',
            tables: [
              {
                table: oldTable,
                columns: {
                  id: col.bigint('id'),
                  email: col.text('email'),
                  name: col.text('full_name'),
                  bornOn: col.date('born'),
                },
              },
            ],
          }),
        );
        const neu = backend('postgres').store<bigint, Person>(
          sqlMapping<Person>({
            key: 'id',
            tables: [
              { table: accounts, columns: { id: col.bigint('account_id'), email: col.text('email_address') } },
              {
                table: names,
                columns: { id: col.bigint('account_id'), name: col.text('display_name'), bornOn: col.date('birthday') },
              },
            ],
          }),
        );
        await old.setup();
        await neu.setup();
        const people = Array.from({ length: 1200 }, (_, i): Person => ({
          id: BigInt(i + 1),
          email: `p${i}@example.com`,
          name: i % 10 === 0 ? null : `Person ${i}`,
          bornOn: i % 4 === 0 ? null : `19${50 + (i % 50)}-0${(i % 9) + 1}-15`,
        }));
        await old.writeIfNewer(people);
        await neu.writeIfNewer(people);
        const m = defineMigration({ name: 'people', old, new: neu, control: memoryControlStore() });
        try {
          const equal = await m.verify({ segmentRows: 300, targetSegmentMs: 0, leafRows: 16 });
          expect(equal).toMatchObject({
            status: 'equal',
            matched: 1200,
            old: { hashing: 'database' },
            new: { hashing: 'database' },
          });
          await backend('postgres').raw(`UPDATE ${names} SET display_name = 'Renamed' WHERE account_id = 77`);
          await backend('postgres').raw(`DELETE FROM ${names} WHERE account_id = 500`); // the second table's row is gone: its fields read as NULL
          const report = await m.verify({ segmentRows: 300, targetSegmentMs: 0, leafRows: 16, recheckDelayMs: 10 });
          expect(report.different.keys).toEqual([
            { keyId: keyId(77n), fields: ['name'] },
            { keyId: keyId(500n), fields: ['bornOn', 'name'] },
          ]);
          expect(report).toMatchObject({ matched: 1198, missing: { total: 0 }, extra: { total: 0 } });
        } finally {
          await m.close();
        }
      },
    );

    it('PostgreSQL → MariaDB: repair makes a second verification clean while random traffic keeps writing through the repository', async () => {
      const old = await profiles(backend('postgres'), 'r_old');
      const neu = await profiles(backend('mysql'), 'r_new');
      await seed(old.store);
      await seed(neu.store);
      const m = await migrate(old.store, neu.store).start();
      await m.advance({ reason: 'test: dual writes' });
      // Differences made behind midair's back: lost rows, stray rows, stale fields.
      for (const id of [5, 50, 500, 1500]) await neu.store.delete(BigInt(id));
      for (const id of [7, 70, 700]) await neu.store.put({ ...profile(id), email: 'stale@example.com', version: 0 });
      for (const id of [100_001, 100_002]) await neu.store.put(profile(id));
      const repo = m.repository();
      let live = true;
      let writes = 0;
      const traffic = (async () => {
        for (let n = 0; live; n++) {
          const id = BigInt(2001 + Math.floor(Math.random() * (N - 2000))); // beside the damaged keys, not on them
          if (n % 9 === 0) await repo.delete(id);
          else await repo.put({ ...profile(Number(id)), email: `live${n}@example.com`, version: 10 + n });
          writes++;
        }
      })();
      try {
        const slow = { segmentRows: 400, targetSegmentMs: 0, leafRows: 32, recheckDelayMs: 200, rechecks: 3 };
        const first = await m.verify({ ...slow, repair: true });
        expect([...first.missing.keys].sort()).toEqual([5n, 50n, 500n, 1500n].map((k) => keyId(k)).sort());
        expect([...first.extra.keys].sort()).toEqual([100_001n, 100_002n].map((k) => keyId(k)).sort());
        expect(first.different.keys.map((k) => k.keyId).sort()).toEqual([7n, 70n, 700n].map((k) => keyId(k)).sort());
        expect(first.repair).toMatchObject({ keys: 9, repaired: 9 });
        expect(first.repair).toMatchObject({ direction: 'old-to-new', stillDifferent: { total: 0 } });
        expect(first.status).toBe('equal');
        const second = await m.verify(slow);
        expect(second).toMatchObject({
          status: 'equal',
          missing: { total: 0 },
          extra: { total: 0 },
          different: { total: 0 },
        });
        expect(writes).toBeGreaterThan(50);
        expect(await neu.store.getTombstone(100_001n)).toBeDefined(); // the stray row was deleted, leaving a tombstone
      } finally {
        live = false;
        await traffic;
      }
    });

    it('PostgreSQL (byte order) → MariaDB (case-insensitive collation): text keys the two order differently are matched, not reported', async () => {
      interface Tag {
        slug: string;
        label: string;
      }
      const oldTable = backend('postgres').unique('tags');
      const newTable = backend('mysql').unique('tags');
      await backend('postgres').ddl({
        postgres: `CREATE TABLE ${oldTable} (slug text COLLATE "C" PRIMARY KEY, label text NOT NULL)`,
      });
      await backend('mysql').ddl({
        mysql: `CREATE TABLE ${newTable} (slug varchar(100) COLLATE utf8mb4_unicode_ci PRIMARY KEY, label text NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      });
      const mapping = (table: string) =>
        sqlMapping<Tag>({
          key: 'slug',
          tables: [{ table, columns: { slug: col.text('slug'), label: col.text('label') } }],
        });
      const old = backend('postgres').store<string, Tag>(mapping(oldTable));
      const neu = backend('mysql').store<string, Tag>(mapping(newTable));
      await old.setup();
      await neu.setup();
      const tags = Array.from({ length: 1500 }, (_, i): Tag => ({
        slug: `${['a', 'B', 'c', 'D', '_', 'é'][i % 6]}${String((i * 7919) % 1500).padStart(4, '0')}`,
        label: `Tag ${i}`,
      }));
      await old.writeIfNewer(tags);
      await neu.writeIfNewer(tags);
      const m = defineMigration({ name: 'tags', old, new: neu, control: memoryControlStore() });
      try {
        const options = { segmentRows: 200, targetSegmentMs: 0, leafRows: 16, recheckDelayMs: 10 };
        const equal = await m.verify(options);
        expect(equal).toMatchObject({
          status: 'equal',
          matched: 1500,
          missing: { total: 0 },
          extra: { total: 0 },
          changedDuringRun: { total: 0 },
        });
        await neu.put({ slug: tags[10]?.slug ?? '', label: 'relabelled' });
        const report = await m.verify(options);
        expect(report.different.keys).toEqual([{ keyId: keyId(tags[10]?.slug ?? ''), fields: ['label'] }]);
        expect(report).toMatchObject({
          matched: 1499,
          missing: { total: 0 },
          extra: { total: 0 },
          changedDuringRun: { total: 0 },
        });
      } finally {
        await m.close();
      }
    });

    it('regression: PostgreSQL char(n) keeps its padding in the hash, and a MariaDB boolean column holding 2 does not pass for true', async () => {
      interface Flag {
        id: bigint;
        code: string;
        on: boolean;
      }
      const oldTable = backend('postgres').unique('flags');
      const newTable = backend('mysql').unique('flags');
      await backend('postgres').ddl({
        postgres: `CREATE TABLE ${oldTable} (id bigint PRIMARY KEY, code char(5) NOT NULL, on_ boolean NOT NULL)`,
      });
      await backend('mysql').ddl({
        mysql: `CREATE TABLE ${newTable} (id bigint PRIMARY KEY, code varchar(5) NOT NULL, on_ tinyint(1) NOT NULL) ENGINE=InnoDB`,
      });
      const mapping = (table: string) =>
        sqlMapping<Flag>({
          key: 'id',
          tables: [{ table, columns: { id: col.bigint('id'), code: col.text('code'), on: col.boolean('on_') } }],
        });
      const old = backend('postgres').store<bigint, Flag>(mapping(oldTable));
      const neu = backend('mysql').store<bigint, Flag>(mapping(newTable));
      await backend('postgres').raw(`INSERT INTO ${oldTable} VALUES (1, 'ab', true), (2, 'abcde', true)`);
      await backend('mysql').raw(`INSERT INTO ${newTable} VALUES (1, 'ab', 1), (2, 'abcde', 1)`);
      const m = defineMigration({ name: 'flags', old, new: neu, control: memoryControlStore() });
      try {
        // PostgreSQL hands back 'ab   ': the entities differ, so verification must say so.
        const padded = await m.verify({ recheckDelayMs: 1 });
        expect(padded.different.keys).toEqual([{ keyId: keyId(1n), fields: ['code'] }]);
        await backend('mysql').raw(`UPDATE ${newTable} SET on_ = 2 WHERE id = 2`);
        const two = await m.verify({ recheckDelayMs: 1 });
        expect(two.status).not.toBe('equal'); // the codec cannot read 2: the run fails on that row rather than call it equal
      } finally {
        await m.close();
      }
    });
  },
);
