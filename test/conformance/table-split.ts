import { beforeAll, describe, expect, it } from 'vitest';
import { col, MidairError, sqlMapping, type SqlMapping, type Store } from '../../src/index.js';
import type { Backend } from '../support/backends.js';

/** The seeds' table split: one `User` entity over `users` + `user_profiles`. */
interface User {
  id: bigint;
  email: string;
  version: number;
  bio: string | null;
  nickname: string | null;
}

function splitMapping(users: string, profiles: string): SqlMapping<User> {
  return sqlMapping<User>({
    key: 'id',
    version: 'version',
    tables: [
      { table: users, columns: { id: col.bigint('id'), email: col.text('email'), version: col.integer('version') } },
      { table: profiles, columns: { id: col.bigint('user_id'), bio: col.text('bio'), nickname: col.text('nickname') } },
    ],
  });
}

const user = (id: number, version = 1, extra: Partial<User> = {}): User => ({
  id: BigInt(id),
  email: `u${id}@example.com`,
  version,
  bio: `bio ${id}`,
  nickname: `n${id}`,
  ...extra,
});

export function tableSplitSuite(get: () => Backend): void {
  describe('entity split over two tables', () => {
    let store: Store<bigint, User>;
    let users: string;
    let profiles: string;
    const rowsIn = async (table: string, column: string): Promise<number> =>
      Number((await get().raw(`SELECT COUNT(*) FROM ${table} WHERE ${column} = 42`))[0]?.[0]);

    beforeAll(async () => {
      const backend = get();
      users = backend.unique('users');
      profiles = backend.unique('user_profiles');
      await backend.ddl({
        postgres: [
          `CREATE TABLE ${users} (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, version integer NOT NULL)`,
          `CREATE TABLE ${profiles} (user_id bigint PRIMARY KEY, bio text, nickname text NOT NULL)`,
        ],
        mysql: [
          `CREATE TABLE ${users} (id bigint PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, version int NOT NULL) ENGINE=InnoDB`,
          `CREATE TABLE ${profiles} (user_id bigint PRIMARY KEY, bio text, nickname varchar(100) NOT NULL) ENGINE=InnoDB`,
        ],
        sqlite: [
          `CREATE TABLE ${users} (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, version INTEGER NOT NULL)`,
          `CREATE TABLE ${profiles} (user_id INTEGER PRIMARY KEY, bio TEXT, nickname TEXT NOT NULL)`,
        ],
      });
      store = backend.store(splitMapping(users, profiles));
      await store.setup();
    });

    it('writes both tables and reads the entity back with a join', async () => {
      await store.put(user(1));
      await store.writeIfNewer([user(2), user(3, 1, { bio: null })]);
      expect(await store.get(1n)).toEqual(user(1));
      expect(await store.getMany([3n, 2n])).toEqual([user(3, 1, { bio: null }), user(2)]);
      expect(Number((await get().raw(`SELECT COUNT(*) FROM ${profiles}`))[0]?.[0])).toBe(3);
      const scanned: User[] = [];
      for await (const chunk of store.scan({ chunkSize: 2 })) scanned.push(...chunk);
      expect(scanned.map((u) => u.id)).toEqual([1n, 2n, 3n]);
    });

    it('deletes from both tables', async () => {
      await store.put(user(7));
      expect(await store.delete(7n)).toBe(true);
      expect(await store.get(7n)).toBeUndefined();
      expect(Number((await get().raw(`SELECT COUNT(*) FROM ${profiles} WHERE user_id = 7`))[0]?.[0])).toBe(0);
    });

    it('writes both tables or neither: a put failing on the second table leaves the first untouched', async () => {
      await expect(store.put(user(42, 1, { nickname: null }))).rejects.toMatchObject({ code: 'CONSTRAINT' });
      expect(await store.get(42n)).toBeUndefined();
      expect(await rowsIn(users, 'id')).toBe(0);
      expect(await rowsIn(profiles, 'user_id')).toBe(0);
    });

    it('writes both tables or neither: a bulk write failing on the second table writes no row of the batch', async () => {
      const err = await store
        .writeIfNewer([user(40), user(41), user(42, 1, { nickname: null })])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MidairError);
      expect(await store.getMany([40n, 41n, 42n])).toEqual([undefined, undefined, undefined]);
      expect(await rowsIn(users, 'id')).toBe(0);
    });

    it('reports a unique violation on a secondary key by code, without the duplicated value in its message (regression: MySQL upsert updated the other row holding the duplicate)', async () => {
      await store.put(user(50, 1, { email: 'secret-person@example.com' }));
      const err = await store.put(user(51, 1, { email: 'secret-person@example.com' })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MidairError);
      expect((err as MidairError).code).toBe('UNIQUE_VIOLATION');
      expect((err as MidairError).message).not.toContain('secret-person');
      expect((err as MidairError).message).toContain('put on');
      expect((err as MidairError).cause).toBeDefined();
      expect(await store.get(51n)).toBeUndefined();
    });

    it('a bulk write clashing on a secondary unique key raises and leaves the other row alone', async () => {
      await store.put(user(60, 1, { email: 'taken@example.com', nickname: 'owner' }));
      const err = await store
        .writeIfNewer([user(61), user(62, 1, { email: 'taken@example.com' })])
        .catch((e: unknown) => e);
      expect((err as MidairError).code).toBe('UNIQUE_VIOLATION');
      expect(await store.get(60n)).toEqual(user(60, 1, { email: 'taken@example.com', nickname: 'owner' }));
      expect(await store.getMany([61n, 62n])).toEqual([undefined, undefined]);
    });
  });
}
