import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dashboardLink, serveDashboard } from '../../src/cli/commands/dashboard.js';
import type { DashboardInfo } from '../../src/dashboard/api-types.js';
import { CLI, midair, writeSqliteUsers } from '../cli/cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The users migration's files and config, with a second migration `people` declared beside it. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'midair-dashboard-cli-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
  });
  const config = join(dir, 'midair.config.ts');
  const text = readFileSync(config, 'utf8');
  const users = /( {4}users: \{[\s\S]*\n {4}\},\n)/.exec(text)?.[1] ?? '';
  writeFileSync(config, text.replace(users, `${users}${users.replace('users: {', 'people: {')}`));
  return dir;
}

describe('midair dashboard', () => {
  it('--help describes its flags: --host, --port, --token or MIDAIR_DASHBOARD_TOKEN, and -m to limit the migrations', async () => {
    const r = await midair(tmpdir(), ['dashboard', '--help']);
    expect(r.code).toBe(0);
    for (const s of [
      '--host <address>',
      '--port <n>',
      '--token <token>',
      'MIDAIR_DASHBOARD_TOKEN',
      '-m/--migration',
      'Authorization: Bearer',
    ])
      expect(r.stdout).toContain(s);
  });

  it('refuses, before opening anything, a bind off loopback without a chosen token, and a token too short', async () => {
    const dir = project();
    const wide = await midair(dir, ['dashboard', '--host', '0.0.0.0', '--port', '0'], { MIDAIR_DASHBOARD_TOKEN: '' });
    expect(wide.code).toBe(2);
    expect(wide.stderr).toContain(
      '--host 0.0.0.0 makes the dashboard reachable from the network: it needs a token you choose',
    );
    const short = await midair(dir, ['dashboard', '--port', '0', '--token', 'abc']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('choose one of at least 16');
    const badPort = await midair(dir, ['dashboard', '--port', '70000']);
    expect(badPort.code).toBe(2);
    expect(existsSync(join(dir, 'control.db'))).toBe(false); // nothing was opened, so nothing was created
  });

  it('watches every migration the config declares, or those -m names; an unknown name is refused', async () => {
    const dir = project();
    const config = join(dir, 'midair.config.ts');
    const all = await serveDashboard({ config }, { port: 0 }, 'tester');
    try {
      expect(all.migrations).toEqual(['users', 'people']);
      expect(dashboardLink(all)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{32}$/);
      const info = (await (await fetch(`${all.server.url}api/v1`)).json()) as DashboardInfo;
      expect(info.migrations.map((m) => m.name)).toEqual(['users', 'people']);
    } finally {
      await all.close();
    }
    const one = await serveDashboard(
      { config, migration: 'people' },
      { port: 0, token: 'a-chosen-token-0123456789' },
      'tester',
    );
    try {
      expect(one.token).toEqual({ token: 'a-chosen-token-0123456789', generated: false });
      expect(dashboardLink(one)).toBe(one.server.url); // a chosen token is never printed
      const info = (await (await fetch(`${one.server.url}api/v1`)).json()) as DashboardInfo;
      expect(info.migrations.map((m) => m.name)).toEqual(['people']);
    } finally {
      await one.close();
    }
    await expect(serveDashboard({ config, migration: 'users,orders' }, { port: 0 }, 'tester')).rejects.toThrow(
      /no migration "orders" in .*; it declares users, people/,
    );
  });

  it('a port already taken is refused, naming it', async () => {
    const dir = project();
    const config = join(dir, 'midair.config.ts');
    const first = await serveDashboard({ config, migration: 'users' }, { port: 0 }, 'tester');
    try {
      await expect(
        serveDashboard({ config, migration: 'users' }, { port: first.server.port }, 'tester'),
      ).rejects.toThrow(`port ${first.server.port} on 127.0.0.1 is taken: pick another with --port`);
    } finally {
      await first.close();
    }
  });

  it('runs as a command until Ctrl-C, printing where it is and the token it made (JSON with --json)', async () => {
    const dir = project();
    const child = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', '--json'], {
      cwd: dir,
      env: { ...process.env, MIDAIR_DASHBOARD_TOKEN: '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const started = await new Promise<{ url: string; token: string; migrations: string[] }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        try {
          resolve(JSON.parse(stdout) as { url: string; token: string; migrations: string[] });
        } catch {
          // not all of it yet
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before it served: ${stdout}`)));
    });
    expect(started.migrations).toEqual(['users', 'people']);
    expect(started.token).toMatch(/^[\w-]{32}$/);
    const r = await fetch(`${started.url}api/v1/migrations/users/strict`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${started.token}` },
      body: JSON.stringify({ on: true, reason: 'the printed token works' }),
    });
    expect(r.status).toBe(400); // accepted, and refused by the command's own rule: nothing has started yet
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain('has not started');
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
