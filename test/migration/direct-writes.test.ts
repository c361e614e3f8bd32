import { afterEach, describe, expect, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Migration, type Store } from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';
import type { StatementLog } from '../support/statement-log.js';

interface Profile {
  id: bigint;
  bio: string;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql');

function ddl(table: string) {
  return {
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio varchar(200) NOT NULL) ENGINE=InnoDB`,
  };
}

async function logged(
  backend: Backend,
  name: string,
): Promise<{ store: Store<bigint, Profile>; log: StatementLog; table: string }> {
  const table = backend.unique(name);
  await backend.ddl(ddl(table));
  const mapping = sqlMapping<Profile>({
    key: 'id',
    tables: [{ table, columns: { id: col.bigint('id'), bio: col.text('bio') } }],
  });
  const made = backend.loggedStore?.<bigint, Profile>(mapping);
  if (!made) throw new Error(`${backend.kind} cannot log statements`);
  await made.store.setup();
  return { ...made, table };
}

const open: Migration<bigint, Profile>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** The statements one call sent, by their first word (`UPDATE`, `INSERT`, …). */
async function statementsOf(log: StatementLog, call: () => Promise<unknown>): Promise<string[]> {
  log.reset();
  await call();
  return log.statements.map((s) => (s.trim().split(/\s+/)[0] ?? '').toUpperCase());
}

describe.skipIf(!run)(`adoption 5: old-only is a pass-through${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');

  it.each([
    ['PostgreSQL', 'postgres', 'mysql'],
    ['MariaDB', 'mysql', 'postgres'],
  ] as const)(
    'regression: a put in old-only was 8 statements on MariaDB where the application ran 1; now each call on old (%s) is the statement the application would run, and new gets none',
    async (_label, from, to) => {
      const old = await logged(db[from], 'pass_old');
      const next = await logged(db[to], 'pass_new');
      const m = defineMigration<bigint, Profile>({
        name: 'profiles',
        old: old.store,
        new: next.store,
        control: memoryControlStore(),
        repair: { enabled: false },
      });
      open.push(m);
      await m.start();
      expect(m.state.phase).toBe('old-only');
      const users = m.repository();
      await users.put({ id: 1n, bio: 'first' }); // the first write of a fresh store may set things up once
      next.log.reset();

      expect(await statementsOf(old.log, () => users.put({ id: 1n, bio: 'changed' }))).toEqual([
        from === 'postgres' ? 'INSERT' : 'UPDATE',
      ]);
      expect(await statementsOf(old.log, () => users.get(1n))).toEqual(['SELECT']);
      // A patch sets its columns in place and hands back the row: PostgreSQL in one UPDATE … RETURNING, MariaDB
      // (no RETURNING on UPDATE) as the update and a read of the row in one transaction.
      expect(await statementsOf(old.log, () => users.patch(1n, { bio: 'patched' }))).toEqual(
        from === 'postgres' ? ['UPDATE'] : ['START', 'UPDATE', 'SELECT', 'COMMIT'],
      );
      expect(await users.get(1n)).toEqual({ id: 1n, bio: 'patched' });
      expect(await statementsOf(old.log, () => users.delete(1n))).toEqual(['DELETE']);
      // A new key: PostgreSQL upserts in one statement; MariaDB's upsert would also overwrite a row clashing on another
      // unique key, so it tries the update, then inserts.
      expect(await statementsOf(old.log, () => users.put({ id: 2n, bio: 'new' }))).toEqual(
        from === 'postgres' ? ['INSERT'] : ['UPDATE', 'INSERT'],
      );
      expect(next.log.statements).toEqual([]);
      expect(await users.get(2n)).toEqual({ id: 2n, bio: 'new' });
      expect(await users.get(1n)).toBeUndefined();
      // What the application's own statement would leave: no tombstone for the delete.
      expect(await old.store.getTombstone(1n)).toBeUndefined();
    },
  );
});

describe.skipIf(!run)(`adoption 5: direct writes name what they break${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');

  it.each(['postgres', 'mysql'] as const)(
    'regression: a direct put that broke a unique constraint named neither the table nor the key, as the locked path does (%s)',
    async (kind) => {
      const table = db[kind].unique('direct_unique');
      await db[kind].ddl({
        postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio text NOT NULL UNIQUE)`,
        mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, bio varchar(200) NOT NULL UNIQUE) ENGINE=InnoDB`,
      });
      const store = db[kind].store<bigint, Profile>(
        sqlMapping<Profile>({
          key: 'id',
          tables: [{ table, columns: { id: col.bigint('id'), bio: col.text('bio') } }],
        }),
      );
      await store.setup();
      await store.put({ id: 1n, bio: 'secret-bio-value' }, { direct: true });
      const err = await store.put({ id: 2n, bio: 'secret-bio-value' }, { direct: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'UNIQUE_VIOLATION', details: { table, key: 'n2' } });
      expect((err as Error).message).not.toContain('secret-bio-value');
    },
  );
});
