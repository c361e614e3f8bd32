import { afterEach, describe, expect, it } from 'vitest';
import {
  col,
  defineMigration,
  lookup,
  memoryControlStore,
  sqlMapping,
  type Migration,
  type QueryDefs,
  type Store,
} from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';
import type { StatementLog } from '../support/statement-log.js';

interface User {
  id: bigint;
  email: string;
  username: string;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql');

async function users(backend: Backend, name: string): Promise<{ store: Store<bigint, User>; log: StatementLog }> {
  const table = backend.unique(name);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, username text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email varchar(200) NOT NULL UNIQUE, username varchar(200) NOT NULL) ENGINE=InnoDB`,
  });
  const made = backend.loggedStore?.<bigint, User>(
    sqlMapping<User>({
      key: 'id',
      tables: [{ table, columns: { id: col.bigint('id'), email: col.text('email'), username: col.text('username') } }],
    }),
  );
  if (!made) throw new Error(`${backend.kind} cannot log statements`);
  await made.store.setup();
  return made;
}

const open: Migration<bigint, User>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** A started migration between the two stores, with `queries`, closed after the test. */
async function started(
  old: Store<bigint, User>,
  neu: Store<bigint, User>,
  queries: QueryDefs<User>,
): Promise<Migration<bigint, User>> {
  const m = defineMigration<bigint, User>({
    name: 'users',
    old,
    new: neu,
    control: memoryControlStore(),
    repair: { enabled: false },
    queries,
  });
  open.push(m);
  return m.start();
}

const selects = (log: StatementLog): number => log.statements.filter((s) => /^\s*SELECT/i.test(s)).length;

describe.skipIf(!run)(`adoption 3: queries from the mapping${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');

  it('regression: lookups by email and username were written twice by hand as ids-then-getMany; declared once, each side answers in one statement with whole entities', async () => {
    const old = await users(db.mysql, 'lookup_old');
    const neu = await users(db.postgres, 'lookup_new');
    const m = await started(old.store, neu.store, {
      byEmail: lookup<User>('email'),
      byName: lookup<User>('username'),
      byBoth: lookup<User>('email', 'username'),
    });
    const repo = m.repository();
    await repo.put({ id: 1n, email: 'ada@example.com', username: 'ada' });
    await repo.put({ id: 2n, email: 'bob@example.com', username: 'bob' });
    await repo.put({ id: 3n, email: 'bo@example.com', username: 'bob' });

    old.log.reset();
    neu.log.reset();
    expect(await repo.query('byEmail', 'ada@example.com')).toEqual([
      { id: 1n, email: 'ada@example.com', username: 'ada' },
    ]);
    expect(old.log.statements).toHaveLength(1);
    expect(neu.log.statements).toEqual([]);
    expect((await repo.query('byName', 'bob')).map((u) => u.id)).toEqual([2n, 3n]);
    expect(await repo.query('byBoth', 'bob@example.com', 'bob')).toHaveLength(1);
    expect(await repo.query('byEmail', 'nobody@example.com')).toEqual([]);
    await expect(repo.query('byBoth', 'bob@example.com')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/looks up by "email", "username": give 2 values/) as string,
    });
  });

  it('where new is authoritative but not complete, a lookup merges old in: keys new never had come from old, keys new changed or deleted do not', async () => {
    const old = await users(db.postgres, 'merge_old');
    const neu = await users(db.mysql, 'merge_new');
    const m = await started(old.store, neu.store, { byName: lookup<User>('username') });
    while (m.state.phase !== 'new-primary') await m.advance({ reason: 'test: to new-primary', force: true });
    const repo = m.repository();
    // Old alone holds these (never copied): as a backfill that has not reached them yet leaves them.
    await old.store.put({ id: 1n, email: 'a@example.com', username: 'sam' });
    await old.store.put({ id: 2n, email: 'b@example.com', username: 'sam' });
    await old.store.put({ id: 3n, email: 'c@example.com', username: 'sam' });
    // New holds key 2 renamed, and key 3 deleted; old still has both as they were.
    await neu.store.put({ id: 2n, email: 'b@example.com', username: 'samuel' });
    await neu.store.put({ id: 3n, email: 'c@example.com', username: 'sam' });
    await neu.store.delete(3n);
    await repo.put({ id: 4n, email: 'd@example.com', username: 'sam' });
    await m.settle();
    neu.log.reset();
    expect((await repo.query('byName', 'sam')).map((u) => u.id)).toEqual([1n, 4n]);
    expect((await repo.query('byName', 'samuel')).map((u) => u.id)).toEqual([2n]);
    expect(selects(neu.log)).toBeGreaterThan(0);
  });
});

describe('adoption 3: lookups are declared by field name', () => {
  it('names fields of the entity only (the compiler refuses others), at least one', () => {
    expect(lookup<User>('email', 'username').by).toEqual(['email', 'username']);
    // @ts-expect-error "mail" is not a field of User
    expect(lookup<User>('mail').by).toEqual(['mail']);
    expect(() => lookup<User>()).toThrow(/name at least one field/);
  });
});
