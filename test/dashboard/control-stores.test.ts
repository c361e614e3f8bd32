import mysql from 'mysql2/promise';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openContext } from '../../src/cli/context.js';
import type { ControlResult, MigrationView } from '../../src/dashboard/api-types.js';
import { dashboard } from '../../src/dashboard/server.js';
import { writeSqliteUsers, writeUsersConfig } from '../cli/cli-support.js';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';

// The dashboard on every control store the config may name: the same view and the same controls on PostgreSQL
// and MySQL/MariaDB as on SQLite (the other suites), the stores themselves on SQLite files.
const TOKEN = 'control-store-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const namespace = (): string => `midair_${inject('runId')}_dash${Math.floor(Math.random() * 1e6).toString(36)}`;

/** A fresh PostgreSQL schema or MySQL database, and the control URL that points at it. */
async function controlUrl(kind: 'postgres' | 'mysql'): Promise<string> {
  const ns = namespace();
  if (kind === 'postgres') {
    const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 1 });
    await admin.query(`CREATE SCHEMA ${ns}`);
    cleanups.push(async () => {
      await admin.query(`DROP SCHEMA ${ns} CASCADE`);
      await admin.end();
    });
    const sep = SERVICE_URLS.postgres.includes('?') ? '&' : '?';
    return `${SERVICE_URLS.postgres}${sep}options=${encodeURIComponent(`-c search_path=${ns}`)}`;
  }
  const admin = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
  await admin.query(`CREATE DATABASE ${ns}`);
  cleanups.push(async () => {
    await admin.query(`DROP DATABASE ${ns}`);
    await admin.end();
  });
  const url = new URL(SERVICE_URLS.mysql);
  url.pathname = `/${ns}`;
  return url.toString();
}

for (const kind of ['postgres', 'mysql'] as const) {
  const a = availability(kind);
  describe.skipIf(!a.run)(
    `the dashboard with its control store on ${kind}${a.run ? '' : ` — skipped: ${a.reason}`}`,
    () => {
      it('reads the migration and runs a control through the command, audited in that control store', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'midair-dashboard-control-'));
        cleanups.push(async () => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
        writeSqliteUsers(dir, (old) => {
          old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
        });
        const config = writeUsersConfig(dir, {
          control: await controlUrl(kind),
          old: 'sqlite:old.db',
          new: 'sqlite:new.db',
        });
        const ctx = await openContext({ config }, true);
        const d = await dashboard({ migrations: [{ ctx }], token: TOKEN, actor: 'tester via dashboard' });
        cleanups.push(async () => {
          d.close();
          await ctx.close();
        });
        const before = (await (await d.app.request('/api/v1/migrations/users')).json()) as MigrationView;
        expect(before).toMatchObject({ migration: 'users', started: false, phase: 'old-only', next: 'dual-write' });
        const post = async (control: string, body: unknown): Promise<ControlResult> => {
          const r = await d.app.request(`/api/v1/migrations/users/${control}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
            body: JSON.stringify(body),
          });
          expect(r.status, await r.clone().text()).toBe(200);
          return (await r.json()) as ControlResult;
        };
        // No application runs here: the fleet gate blocks, so the step is forced, with its reason, as on the command line.
        const advanced = await post('advance', { reason: 'nothing uses it yet', force: true });
        expect(advanced.view).toMatchObject({ phase: 'dual-write', started: true });
        expect(advanced.view.audit[0]).toMatchObject({
          action: 'advance',
          actor: 'tester via dashboard',
          forced: true,
        });
        const paused = await post('backfill', { action: 'pause' });
        expect(paused.view.backfill.paused).toBe(true);
        expect((await ctx.control.getState('users'))?.phase).toBe('dual-write');
      });
    },
  );
}
