import { afterEach, describe, expect, it } from 'vitest';
import {
  col,
  defineMigration,
  memoryControlStore,
  sqlMapping,
  type Migration,
  type Phase,
  type Store,
} from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';

interface Profile {
  id: bigint;
  bio: string;
  image: string;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql');

async function profiles(backend: Backend, name: string): Promise<Store<bigint, Profile>> {
  const table = backend.unique(name);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio text NOT NULL, image text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio varchar(2000) NOT NULL, image varchar(2000) NOT NULL) ENGINE=InnoDB`,
  });
  const store = backend.store<bigint, Profile>(
    sqlMapping<Profile>({
      key: 'id',
      tables: [{ table, columns: { id: col.bigint('id'), bio: col.text('bio'), image: col.text('image') } }],
    }),
  );
  await store.setup();
  return store;
}

const open: Migration<bigint, Profile>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe.skipIf(!run)(`adoption 2: update and patch on real databases${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');

  it.each([
    ['MariaDB → PostgreSQL', 'dual-write', 'mysql', 'postgres'],
    ['MariaDB → PostgreSQL', 'new-primary', 'mysql', 'postgres'],
    ['PostgreSQL → MariaDB', 'dual-write', 'postgres', 'mysql'],
    ['PostgreSQL → MariaDB', 'new-primary', 'postgres', 'mysql'],
  ] as const)(
    'regression: concurrent PUT {bio} / PUT {image} from two instances lost one write in 20 of 30 rounds; as patches none is lost (%s, %s)',
    async (_label, phase: Phase, from, to) => {
      const oldStore = await profiles(db[from], 'old_profiles');
      const newStore = await profiles(db[to], 'new_profiles');
      const control = memoryControlStore();
      const instance = async (id: string): Promise<Migration<bigint, Profile>> => {
        const m = defineMigration<bigint, Profile>({
          name: 'profiles',
          old: oldStore,
          new: newStore,
          control,
          instanceId: id,
          pollMs: 10,
          timeoutMs: 5000,
          repair: { enabled: false },
        });
        open.push(m);
        return m.start();
      };
      const [a, b] = [await instance('a'), await instance('b')];
      while (a.state.phase !== phase) await a.advance({ reason: `test: to ${phase}`, force: true });
      const rounds = 30;
      for (let i = 1; i <= rounds; i++) await a.repository().put({ id: BigInt(i), bio: '', image: '' });
      await Promise.all(
        Array.from({ length: rounds }, async (_, i) => {
          const id = BigInt(i + 1);
          await Promise.all([
            a.repository().patch(id, { bio: `bio ${i}` }),
            b.repository().patch(id, { image: `image ${i}.png` }),
          ]);
        }),
      );
      const authority = phase === 'new-primary' ? newStore : oldStore;
      const mirror = phase === 'new-primary' ? oldStore : newStore;
      const expected = Array.from({ length: rounds }, (_, i) => ({
        id: BigInt(i + 1),
        bio: `bio ${i}`,
        image: `image ${i}.png`,
      }));
      await a.settle();
      await b.settle();
      const show = (e: Profile | undefined): string => (e ? `${e.id}: ${e.bio} / ${e.image}` : 'absent');
      for (const store of [authority, mirror]) {
        const got = await store.getMany(expected.map((e) => e.id));
        expect({ store: store.name, rows: got.map(show) }).toEqual({ store: store.name, rows: expected.map(show) });
      }
    },
  );
});
