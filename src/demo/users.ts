import { col, sqlMapping, type SqlMapping } from '../mapping/mapping.js';

/** The entity the demo and the self-check move: one `users` table in old, `users` + `user_profiles` in new. */
export interface DemoUser {
  id: bigint;
  email: string;
  name: string;
  bio: string | null;
  prefs: unknown;
  createdAt: Date;
  version: number;
}

export const OLD_SCHEMA = `CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, bio TEXT, prefs TEXT,
  created_at TEXT NOT NULL, version INTEGER NOT NULL)`;

export const NEW_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, full_name TEXT NOT NULL,
     created_at TEXT NOT NULL, version INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS user_profiles (user_id INTEGER PRIMARY KEY, bio TEXT, prefs TEXT)`,
] as const;

/** Old: one `users` table. */
export const oldUsers: SqlMapping<DemoUser> = sqlMapping<DemoUser>({
  key: 'id',
  version: 'version',
  tables: [
    {
      table: 'users',
      columns: {
        id: col.bigint('id'),
        email: col.text('email'),
        name: col.text('name'),
        bio: col.text('bio'),
        prefs: col.json('prefs'),
        createdAt: col.timestamptz('created_at'),
        version: col.integer('version'),
      },
    },
  ],
});

/** New: `users` (with `name` renamed `full_name`) + `user_profiles`. */
export const newUsers: SqlMapping<DemoUser> = sqlMapping<DemoUser>({
  key: 'id',
  version: 'version',
  tables: [
    {
      table: 'users',
      columns: {
        id: col.bigint('id'),
        email: col.text('email'),
        name: col.text('full_name'),
        createdAt: col.timestamptz('created_at'),
        version: col.integer('version'),
      },
    },
    { table: 'user_profiles', columns: { id: col.bigint('user_id'), bio: col.text('bio'), prefs: col.json('prefs') } },
  ],
});

/** A small deterministic generator so a run can be repeated exactly. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
}

export function makeUser(id: number, version: number): DemoUser {
  return {
    id: BigInt(id),
    email: `user${id}@example.com`,
    name: `User ${id}`,
    bio: id % 7 === 0 ? null : `Bio of user ${id} — ${'lorem ipsum '.repeat(1 + (id % 5))}`,
    prefs: { theme: id % 2 ? 'dark' : 'light', langs: ['en', id % 3 ? 'fr' : 'de'], notify: { email: id % 4 === 0 } },
    createdAt: new Date(Date.UTC(2020, 0, 1) + id * 60_000),
    version,
  };
}
