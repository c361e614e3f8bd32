import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { midair, writeSqliteUsers, writeUsersConfig, type CliRun } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const FILES = ['old.db', 'new.db', 'control.db'] as const;

/** Each SQLite file: whether it exists, its tables and their row counts (read-only: the snapshot writes nothing). */
function snapshot(dir: string): Record<string, Record<string, number> | null> {
  const out: Record<string, Record<string, number> | null> = {};
  for (const f of FILES) {
    const path = join(dir, f);
    if (!existsSync(path)) {
      out[f] = null;
      continue;
    }
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const tables = (
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
      ).map((t) => t.name);
      out[f] = Object.fromEntries(
        tables.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n]),
      );
    } finally {
      db.close();
    }
  }
  return out;
}

function world(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midair-refused-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    const insert = old.prepare('INSERT INTO users VALUES (?, ?, ?)');
    for (let i = 1; i <= 20; i++) insert.run(i, `u${i}@example.com`, `user ${i}`);
  });
  return dir;
}

/** Runs the command and asserts it changed nothing in any of the three databases. */
async function unchanged(dir: string, args: readonly string[], code: number | 'any'): Promise<CliRun> {
  const before = snapshot(dir);
  const r = await midair(dir, args);
  if (code !== 'any') expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ args, code });
  expect(snapshot(dir)).toEqual(before);
  return r;
}

describe('refused and read-only commands write nothing', () => {
  it('regression: refused commands created tombstone tables and control rows, status wrote an init entry; now nothing changes', async () => {
    const dir = world();
    // Nothing has run: no control file yet, and none of these may create one or touch old and new.
    const status = await unchanged(dir, ['status', '--json'], 0);
    expect(status.json()).toMatchObject({
      started: false,
      phase: 'old-only',
      stores: { old: { reachable: true }, new: { reachable: true } },
    });
    await unchanged(dir, ['plan', '--format', 'json'], 'any');
    await unchanged(dir, ['check'], 1); // warnings only: no tombstone tables yet, no version field
    await unchanged(dir, ['dead-letters', 'list'], 0);
    await unchanged(dir, ['phase', 'rollback'], 2);
    await unchanged(dir, ['phase', 'set', '--ramp', '50'], 2);
    await unchanged(dir, ['phase', 'advance', '--force'], 2); // --force needs --reason
    await unchanged(dir, ['backfill', '--json'], 2);
    await unchanged(dir, ['sweep'], 2);
    await unchanged(dir, ['dead-letters', 'retry'], 2);
    await unchanged(dir, ['dead-letters', 'accept'], 2);
    expect(existsSync(join(dir, 'control.db'))).toBe(false);

    // Started: the same refusals leave old, new and the control store as they were.
    expect((await midair(dir, ['phase', 'advance', '--reason', 'start', '--force'])).code).toBe(0); // no application here
    await unchanged(dir, ['status'], 0);
    await unchanged(dir, ['plan'], 'any');
    await unchanged(dir, ['phase', 'set', '--ramp', '50'], 2);
    await unchanged(dir, ['phase', 'advance', '--force'], 2);
    await unchanged(dir, ['dead-letters', 'accept', '--reason', 'no force'], 2);
    await unchanged(dir, ['backfill', '--max-delete-share', '7'], 2);

    // Complete: no rollback, and the refusal writes nothing.
    for (let i = 0; i < 5; i++) {
      const a = await midair(dir, ['phase', 'advance', '--force', '--reason', 'walk', '--yes']);
      expect({ code: a.code, stderr: a.stderr }).toEqual({ code: 0, stderr: '' });
    }
    expect((await midair(dir, ['status', '--json'])).json()).toMatchObject({ phase: 'complete' });
    const r = await unchanged(dir, ['phase', 'rollback', '--force', '--reason', 'try'], 2);
    expect(r.stderr).toContain('no rollback from complete');
    await unchanged(dir, ['backfill'], 2);
  });

  it('a write command refuses a live schema that does not fit the mapping, with nothing written', async () => {
    const dir = world();
    const neu = new Database(join(dir, 'new.db'));
    neu.exec('DROP TABLE user_profiles');
    neu.close();
    const r = await unchanged(dir, ['phase', 'advance', '--reason', 'start'], 2);
    expect(r.stderr).toContain('the live schema does not fit the mapping');
    expect(r.stderr).toContain('user_profiles does not exist');
    const c = await unchanged(dir, ['check', '--json'], 2);
    expect(c.json()).toMatchObject({ errors: 1 });
    expect(existsSync(join(dir, 'control.db'))).toBe(false);
  });

  it('a key-codec mismatch refuses backfill, verify and repair (exit 2, nothing written); check names the field and both codecs', async () => {
    const dir = world();
    writeFileSync(
      join(dir, 'midair.config.ts'),
      `import { col, sqlMapping } from 'midair';
import { defineConfig } from 'midair/config';
interface User { id: string; email: string }
export default defineConfig({
  control: 'sqlite:control.db',
  migrations: { users: {
    old: { url: 'sqlite:old.db', mapping: sqlMapping<User>({ key: 'id', tables: [{ table: 'users', columns: { id: col.text('id'), email: col.text('email') } }] }) },
    new: { url: 'sqlite:new.db', mapping: sqlMapping<User>({ key: 'id', tables: [{ table: 'users', columns: { id: col.uuid('id'), email: col.text('email') } }] }) },
  } },
});
`,
    );
    const neu = new Database(join(dir, 'new.db'));
    neu.exec(
      'DROP TABLE users; DROP TABLE user_profiles; CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL)',
    );
    neu.close();
    const old = new Database(join(dir, 'old.db'));
    old.exec(
      "DROP TABLE users; CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT NOT NULL); INSERT INTO users VALUES ('0A1B2C3D-0000-4000-8000-00000000000A', 'a@example.com')",
    );
    old.close();
    const c = await unchanged(dir, ['check'], 2);
    expect(c.stdout).toContain('key field "id" is mapped as text in old and uuid in new');
    expect((await midair(dir, ['phase', 'advance', '--reason', 'start', '--force'])).code).toBe(0); // no application here
    const b = await unchanged(dir, ['backfill', '--json'], 2);
    expect(b.json()).toMatchObject({ status: 'refused', error: { code: 'SCHEMA_MISMATCH' } });
    await unchanged(dir, ['verify'], 2);
    await unchanged(dir, ['repair'], 2);
  });
});

const servers = availability('postgres').run && availability('mysql').run;

describe.skipIf(!servers)(
  'refused commands write nothing on PostgreSQL → MariaDB (control store in PostgreSQL)',
  () => {
    it('regression: phase rollback and phase set in old-only created tombstone tables in both databases and control tables; now nothing changes', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'midair-refused-'));
      dirs.push(dir);
      const ns = `midair_${inject('runId')}_ref${Math.floor(Math.random() * 1e6).toString(36)}`;
      const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 2 });
      const my = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
      try {
        await admin.query(`CREATE SCHEMA ${ns}`);
        await admin.query(
          `CREATE TABLE ${ns}.users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL, name VARCHAR(200) NOT NULL)`,
        );
        await admin.query(
          `INSERT INTO ${ns}.users SELECT g, 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 25) g`,
        );
        await my.query(`CREATE DATABASE ${ns} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
        await my.query(`CREATE TABLE ${ns}.users (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL)`);
        await my.query(`CREATE TABLE ${ns}.user_profiles (user_id BIGINT PRIMARY KEY, full_name VARCHAR(200))`);
        const controlUrl = `${SERVICE_URLS.postgres}${SERVICE_URLS.postgres.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${ns}`)}`;
        const myUrl = new URL(SERVICE_URLS.mysql);
        myUrl.pathname = `/${ns}`;
        writeUsersConfig(dir, { control: controlUrl, old: SERVICE_URLS.postgres, new: myUrl.toString() }, { old: ns });
        const snap = async (): Promise<unknown> => {
          const pgTables = (
            await admin.query<{ t: string }>(
              `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
              [ns],
            )
          ).rows.map((r) => r.t);
          const pgCounts = await Promise.all(
            pgTables.map(async (t): Promise<[string, number]> => [
              t,
              Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${ns}."${t}"`)).rows[0]?.n),
            ]),
          );
          const [myRows] = await my.query(
            `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY 1`,
            [ns],
          );
          const myTables = (myRows as { t: string }[]).map((r) => r.t);
          const myCounts = await Promise.all(
            myTables.map(async (t): Promise<[string, number]> => [
              t,
              Number(((await my.query(`SELECT count(*) AS n FROM ${ns}.\`${t}\``))[0] as { n: number }[])[0]?.n),
            ]),
          );
          return { postgres: Object.fromEntries(pgCounts), mariadb: Object.fromEntries(myCounts) };
        };
        const same = async (args: readonly string[], code: number): Promise<CliRun> => {
          const before = await snap();
          const r = await midair(dir, args);
          expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ args, code });
          expect(await snap()).toEqual(before);
          return r;
        };
        const status = await same(['status', '--json'], 0);
        expect(status.json()).toMatchObject({
          started: false,
          stores: { old: { reachable: true }, new: { reachable: true } },
        });
        await same(['phase', 'rollback'], 2);
        await same(['phase', 'set', '--ramp', '50'], 2);
        await same(['backfill'], 2);
        await same(['dead-letters', 'accept'], 2);
        expect(await snap()).toEqual({ postgres: { users: 25 }, mariadb: { users: 0, user_profiles: 0 } });
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
        await admin.end();
        await my.query(`DROP DATABASE IF EXISTS ${ns}`);
        await my.end();
      }
    });
  },
);
