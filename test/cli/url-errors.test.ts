import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { midair, writeUsersConfig } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A password no output may show. */
const PASSWORD = 'pw-never-shown-2408';

/** A directory whose config has `old` as the old store's URL (new and control on SQLite files). */
function world(old: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'midair-url-errors-'));
  dirs.push(dir);
  writeUsersConfig(dir, { control: 'sqlite:control.db', old, new: 'sqlite:new.db' });
  return dir;
}

const pg = availability('postgres');

describe('adoption 8: errors that name the thing — the command line', () => {
  it('regression: a port out of range or a broken IPv6 host exited 3; now exit 2 naming old.url, nothing opened', async () => {
    const cases = [
      [
        `postgres://postgres:${PASSWORD}@127.0.0.1:99999/test`,
        'the port 99999 is out of range: use 1–65535 (the default is 5432)',
      ],
      [`postgres://postgres:${PASSWORD}@[::1:5432/test`, 'the IPv6 host has no closing "]": write it as [::1]:5432'],
      [
        `mysql://root:${PASSWORD}@127.0.0.1:70000/test`,
        'the port 70000 is out of range: use 1–65535 (the default is 3306)',
      ],
    ] as const;
    for (const [url, said] of cases) {
      const dir = world(url);
      const r = await midair(dir, ['status']);
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2 });
      expect(r.stderr).toBe(`midair: CONFIG: migrations.users.old.url: ${said}\n`);
      expect(r.stderr + r.stdout).not.toContain(PASSWORD);
      const json = await midair(dir, ['status', '--json']);
      expect(json.code).toBe(2);
      expect(json.json()).toEqual({ error: { code: 'CONFIG', message: `migrations.users.old.url: ${said}` } });
      expect(existsSync(join(dir, 'control.db'))).toBe(false);
    }
  });

  it.skipIf(!pg.run)(
    `status reports a missing database by its code, naming old.url${pg.run ? '' : ` — skipped: ${pg.reason}`}`,
    async () => {
      const u = new URL(SERVICE_URLS.postgres);
      u.password = PASSWORD;
      const database = `midair_nope_${inject('runId')}`;
      u.pathname = `/${database}`;
      const r = await midair(world(u.toString()), ['status', '--json']);
      const old = r.json<{ stores: { old: { reachable: boolean; error?: { code: string; message: string } } } }>()
        .stores.old;
      expect(old.reachable).toBe(false);
      expect(old.error?.code).toBe('UNKNOWN_DATABASE');
      expect(old.error?.message).toMatch(
        new RegExp(`^migrations\\.users\\.old\\.url: database "${database}" does not exist on [^ ]+ — create it`),
      );
      expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    },
  );
});
