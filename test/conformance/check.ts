import { describe, expect, it } from 'vitest';
import { col, sqlMapping, type CheckProblemCode, type CheckReport } from '../../src/index.js';
import type { Backend, BackendKind } from '../support/backends.js';
import { rowDdl, rowMapping } from './fixtures.js';

const codes = (r: CheckReport): CheckProblemCode[] => r.problems.map((p) => p.code);

export function checkSuite(get: () => Backend, kind: BackendKind): void {
  describe('check() against the live schema', () => {
    it('passes a matching schema once setup() created the tombstone table', async () => {
      const backend = get();
      const table = backend.unique('ok');
      await backend.ddl(rowDdl(table));
      const store = backend.store(rowMapping(table));
      const before = await store.check();
      expect(before.ok).toBe(false);
      expect(codes(before)).toEqual(['MISSING_TOMBSTONE_TABLE']);
      expect(before.problems[0]?.message).toContain('store.setup()');
      await store.setup();
      await store.setup(); // idempotent
      expect(await store.check()).toMatchObject({ store: store.name, ok: true, problems: [] });
    });

    it('a write before setup() fails with SCHEMA_MISMATCH and says to run store.setup()', async () => {
      const backend = get();
      const table = backend.unique('nosetup');
      await backend.ddl(rowDdl(table));
      const err = await backend
        .store(rowMapping(table))
        .writeIfNewer([{ id: 1n, version: 1, v: 'x' }])
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SCHEMA_MISMATCH' });
      expect((err as Error).message).toContain('run store.setup()');
    });

    it('names a missing table, a missing column, an unmapped NOT NULL column and a missing version column', async () => {
      const backend = get();
      const table = backend.unique('partial');
      await backend.ddl({
        postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, extra text NOT NULL)`,
        mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, extra text NOT NULL)`,
        sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, extra TEXT NOT NULL)`,
      });
      const report = await backend.store(rowMapping(table)).check();
      expect(report.ok).toBe(false);
      const missing = report.problems.filter((p) => p.code === 'MISSING_COLUMN');
      expect(missing.map((p) => p.column).sort()).toEqual(['extra', 'v', 'version']);
      expect(missing.find((p) => p.column === 'version')?.message).toMatch(
        new RegExp(`column ${table}\\.version \\(field "version"\\) does not exist`),
      );
      expect(missing.find((p) => p.column === 'extra')?.message).toContain('NOT NULL without a default');

      const absent = await backend.store(rowMapping(backend.unique('nowhere'))).check();
      expect(codes(absent)).toContain('MISSING_TABLE');
      expect(absent.problems[0]?.message).toMatch(/table nowhere_\d+ does not exist/);
    });

    it('names a type that cannot hold the field', async () => {
      const backend = get();
      const table = backend.unique('types');
      await backend.ddl({
        postgres: `CREATE TABLE ${table} (id integer PRIMARY KEY, version integer NOT NULL, v integer NOT NULL)`,
        mysql: `CREATE TABLE ${table} (id int PRIMARY KEY, version int NOT NULL, v int NOT NULL)`,
        sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, v BLOB NOT NULL)`,
      });
      const report = await backend.store(rowMapping(table)).check();
      const mismatches = report.problems.filter((p) => p.code === 'TYPE_MISMATCH');
      const v = mismatches.find((p) => p.column === 'v');
      expect(v?.message).toContain(`column ${table}.v is`);
      expect(v?.message).toContain('field "v" mapped as text');
      if (kind !== 'sqlite') {
        // A 64-bit key in a 32-bit column: values above 2^31 would fail (SQLite integers are all 64-bit).
        expect(mismatches.find((p) => p.column === 'id')?.message).toContain('mapped as bigint');
      }
    });

    it('names a missing primary key and a key that is not the primary key', async () => {
      const backend = get();
      const nopk = backend.unique('nopk');
      const wrongpk = backend.unique('wrongpk');
      await backend.ddl({
        postgres: [
          `CREATE TABLE ${nopk} (id bigint NOT NULL, version integer NOT NULL, v text NOT NULL)`,
          `CREATE TABLE ${wrongpk} (id bigint NOT NULL, version integer NOT NULL, v text NOT NULL, PRIMARY KEY (id, version))`,
        ],
        mysql: [
          `CREATE TABLE ${nopk} (id bigint NOT NULL, version int NOT NULL, v text NOT NULL)`,
          `CREATE TABLE ${wrongpk} (id bigint NOT NULL, version int NOT NULL, v text NOT NULL, PRIMARY KEY (id, version))`,
        ],
        sqlite: [
          `CREATE TABLE ${nopk} (id INTEGER NOT NULL, version INTEGER NOT NULL, v TEXT NOT NULL)`,
          `CREATE TABLE ${wrongpk} (id INTEGER NOT NULL, version INTEGER NOT NULL, v TEXT NOT NULL, PRIMARY KEY (id, version))`,
        ],
      });
      const a = await backend.store(rowMapping(nopk)).check();
      expect(a.problems.find((p) => p.code === 'MISSING_PRIMARY_KEY')?.message).toContain(
        `table ${nopk} has no primary key`,
      );
      const b = await backend.store(rowMapping(wrongpk)).check();
      expect(b.problems.find((p) => p.code === 'KEY_MISMATCH')?.message).toContain('(id, version)');
    });

    it('warns that an unversioned mapping makes conditional writes insert-only', async () => {
      const backend = get();
      const table = backend.unique('plain');
      await backend.ddl({
        postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, v text)`,
        mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, v text)`,
        sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT)`,
      });
      const store = backend.store(
        sqlMapping<{ id: bigint; v: string }>({
          key: 'id',
          tables: [{ table, columns: { id: col.bigint('id'), v: col.text('v') } }],
        }),
      );
      await store.setup();
      const report = await store.check();
      expect(report.ok).toBe(true);
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatchObject({ code: 'MISSING_VERSION', severity: 'warning' });
      expect(report.problems[0]?.message).toContain('insert-only');
    });

    // SQLite stores timestamps as text: it has no precision to lose.
    if (kind !== 'sqlite')
      it('warns when a timestamp column drops microseconds', async () => {
        const backend = get();
        const table = backend.unique('coarse');
        await backend.ddl({
          postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, at timestamptz(0))`,
          mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, at timestamp NULL DEFAULT NULL)`,
        });
        const store = backend.store(
          sqlMapping<{ id: bigint; at: Date }>({
            key: 'id',
            tables: [{ table, columns: { id: col.bigint('id'), at: col.timestamptz('at') } }],
          }),
        );
        const report = await store.check();
        expect(report.problems.find((p) => p.code === 'PRECISION_LOSS')?.message).toContain(
          `column ${table}.at keeps 0 fractional second digit(s)`,
        );
      });
  });
}
