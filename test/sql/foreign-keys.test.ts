import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { col, sqlMapping } from '../../src/index.js';
import { sqliteStore } from '../../src/sqlite/index.js';
import { checkBoth } from '../../src/cli/schema-guard.js';
import { availabilityOfAll, suiteBackends } from '../support/backends.js';

interface User {
  id: bigint;
  email: string;
  bio: string;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql');

describe.skipIf(!run)(
  `adoption 4: foreign keys across the migrated entity${run ? '' : ` — skipped: ${reason}`}`,
  () => {
    const db = suiteBackends('postgres', 'mysql');

    it("regression: three foreign keys to user had to be found by hand; check() lists each side's, and the pair check says what each phase needs", async () => {
      const pgUsers = db.postgres.unique('fk_users');
      const articles = db.postgres.unique('fk_articles');
      const profiles = db.postgres.unique('fk_profiles');
      await db.postgres.ddl({
        postgres: [
          `CREATE TABLE ${pgUsers} (id bigint PRIMARY KEY, email text NOT NULL)`,
          `CREATE TABLE ${profiles} (user_id bigint PRIMARY KEY REFERENCES ${pgUsers}(id), bio text NOT NULL)`,
          `CREATE TABLE ${articles} (id bigint PRIMARY KEY, author_id bigint NOT NULL, CONSTRAINT ${articles}_author FOREIGN KEY (author_id) REFERENCES ${pgUsers}(id))`,
        ],
      });
      const myUsers = db.mysql.unique('fk_users');
      const comments = db.mysql.unique('fk_comments');
      await db.mysql.ddl({
        mysql: [
          `CREATE TABLE ${myUsers} (id bigint PRIMARY KEY, email varchar(200) NOT NULL, bio varchar(200) NOT NULL) ENGINE=InnoDB`,
          `CREATE TABLE ${comments} (id bigint PRIMARY KEY, user_id bigint NOT NULL, CONSTRAINT ${comments}_user FOREIGN KEY (user_id) REFERENCES ${myUsers}(id)) ENGINE=InnoDB`,
        ],
      });
      // Old keeps the bio in a table of its own, joined by the mapping: that foreign key is the mapping's, not a problem.
      const old = db.postgres.store<bigint, User>(
        sqlMapping<User>({
          key: 'id',
          table: pgUsers,
          columns: { id: col.bigint('id'), email: col.text('email'), bio: col.text('bio').in(profiles) },
          joined: { [profiles]: { key: 'user_id' } },
        }),
      );
      const neu = db.mysql.store<bigint, User>(
        sqlMapping<User>({
          key: 'id',
          table: myUsers,
          columns: { id: col.bigint('id'), email: col.text('email'), bio: col.text('bio') },
        }),
      );
      await old.setup();
      await neu.setup();
      expect((await old.check()).referencedBy).toEqual([
        { table: articles, constraint: `${articles}_author`, columns: ['author_id'], references: pgUsers },
      ]);
      expect((await neu.check()).referencedBy).toEqual([
        { table: comments, constraint: `${comments}_user`, columns: ['user_id'], references: myUsers },
      ]);
      const both = await checkBoth(old, neu);
      const fks = both.between.filter((p) => p.code === 'FOREIGN_KEY');
      expect(fks.map((p) => [p.severity, p.table])).toEqual([
        ['warning', articles],
        ['warning', comments],
      ]);
      expect(fks[0]?.message).toMatch(/^on old, .*author_id.*before new-primary/);
      expect(fks[1]?.message).toMatch(/^on new, .*user_id.*after the backfill and verification/);
      expect(both.errors).toBe(0);
    });
  },
);

describe('adoption 4: foreign keys on SQLite', () => {
  it('lists the foreign keys of other tables that reference the mapped table', async () => {
    const db = new Database(':memory:');
    db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, bio TEXT NOT NULL);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, by_user INTEGER REFERENCES users(id), editor INTEGER REFERENCES users(id))`);
    const store = sqliteStore<bigint, User>(
      db,
      sqlMapping<User>({
        key: 'id',
        table: 'users',
        columns: { id: col.bigint('id'), email: col.text('email'), bio: col.text('bio') },
      }),
    );
    await store.setup();
    expect((await store.check()).referencedBy?.map((r) => [r.table, r.columns])).toEqual([
      ['posts', ['editor']],
      ['posts', ['by_user']],
    ]);
    db.close();
  });
});
