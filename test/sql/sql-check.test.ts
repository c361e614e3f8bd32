import { describe, expect, it } from 'vitest';
import { col, sqlMapping, type CheckReport } from '../../src/index.js';
import { compareUniques } from '../../src/sql/sql-check.js';
import { availabilityOfAll, suiteBackends } from '../support/backends.js';

interface Account {
  id: bigint;
  email: string;
  name: string;
}

const mapping = (table: string) =>
  sqlMapping<Account>({
    key: 'id',
    tables: [{ table, columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') } }],
  });

const { run, reason } = availabilityOfAll('postgres', 'mysql');

describe.skipIf(!run)(`check() on character sets and unique constraints${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql');

  it('regression: a text field on a utf8mb3 or latin1 MariaDB column passed check(), then 4-byte characters were refused row by row', async () => {
    const t = db.mysql.unique('charsets');
    await db.mysql.ddl({
      mysql: `CREATE TABLE ${t} (id bigint PRIMARY KEY, email varchar(200) CHARACTER SET utf8mb3 NOT NULL, name varchar(200) CHARACTER SET latin1 NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    });
    const store = db.mysql.store<bigint, Account>(mapping(t));
    await store.setup();
    const report = await store.check();
    expect(report.ok).toBe(false);
    const charset = report.problems.filter((p) => p.code === 'CHARSET');
    expect(charset.map((p) => [p.field, p.severity])).toEqual([
      ['email', 'error'],
      ['name', 'error'],
    ]);
    expect(charset[0]?.message).toContain('refuses 4-byte characters');
    expect(charset[0]?.message).toContain('utf8mb4');
  });

  it('a utf8mb4 column passes', async () => {
    const t = db.mysql.unique('utf8mb4');
    await db.mysql.ddl({
      mysql: `CREATE TABLE ${t} (id bigint PRIMARY KEY, email varchar(200) NOT NULL, name text NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    });
    const store = db.mysql.store<bigint, Account>(mapping(t));
    await store.setup();
    expect((await store.check()).problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it("regression: MariaDB's case-insensitive unique index and PostgreSQL's case-sensitive one passed unnoticed; check() now reads both and the pair is warned about", async () => {
    const t = db.mysql.unique('uniq');
    await db.mysql.ddl({
      mysql: `CREATE TABLE ${t} (id bigint PRIMARY KEY, email varchar(200) COLLATE utf8mb4_general_ci NOT NULL, name varchar(200) NOT NULL, UNIQUE KEY ${t}_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    });
    const p = db.postgres.unique('uniq');
    await db.postgres.ddl({
      postgres: [
        `CREATE TABLE ${p} (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL)`,
        `CREATE UNIQUE INDEX ${p}_email ON ${p} (email)`,
        `CREATE UNIQUE INDEX ${p}_name ON ${p} (name)`,
      ],
    });
    const old = db.mysql.store<bigint, Account>(mapping(t));
    const neu = db.postgres.store<bigint, Account>(mapping(p));
    const [o, n] = [await old.check(), await neu.check()];
    expect(o.uniques?.find((u) => u.fields.join() === 'email')).toMatchObject({ caseInsensitive: ['email'] });
    expect(n.uniques?.find((u) => u.fields.join() === 'email')).toMatchObject({ caseInsensitive: [] });
    const warnings = compareUniques(o, n);
    expect(warnings.every((w) => w.severity === 'warning' && w.code === 'UNIQUE_MISMATCH')).toBe(true);
    expect(warnings.map((w) => w.message).join('\n')).toContain('compares field "email" without regard to case in old');
    expect(warnings.map((w) => w.message).join('\n')).toContain('new enforces unique');
    expect(warnings).toHaveLength(2);
  });
});

describe('compareUniques', () => {
  const report = (uniques: CheckReport['uniques']): CheckReport => ({ store: 's', ok: true, problems: [], uniques });
  it('says nothing where both sides agree, or where a side cannot tell', () => {
    const u = [{ table: 't', constraint: 'PRIMARY', fields: ['id'], caseInsensitive: [] }];
    expect(compareUniques(report(u), report(u))).toEqual([]);
    expect(compareUniques(report(u), report(undefined))).toEqual([]);
  });
});
