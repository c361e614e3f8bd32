import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds before the suites run). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Runs `midair <args>` in `cwd` as a separate process, the way an operator would. */
export async function midair(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout,
        stderr,
        json: <T>() => JSON.parse(stdout) as T,
      }),
    );
  });
}

/** `midair <args>` with each chunk of its stderr handed to `onStderr` as it comes (to answer a wait while it waits). */
export async function streaming(
  dir: string,
  args: readonly string[],
  onStderr: (all: string) => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => onStderr((stderr += d.toString())));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }));
  });
}

/** Retries a CLI call until it exits 0 (a gate waiting on traffic), up to `ms`; resolves the last run. */
export async function until(run: () => Promise<CliRun>, ms = 30_000): Promise<CliRun> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await run();
    if (r.code === 0 || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * The users migration on SQLite files in `dir`: old.db made by `old` (a
 * `users` table and its rows), new.db with `users(id, email)` and
 * `user_profiles(user_id, full_name)`, and the config naming both.
 */
export function writeSqliteUsers(dir: string, old: (db: Database.Database) => void): void {
  const oldDb = new Database(join(dir, 'old.db'));
  old(oldDb);
  oldDb.close();
  const newDb = new Database(join(dir, 'new.db'));
  newDb.exec(
    'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL); CREATE TABLE user_profiles (user_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL)',
  );
  newDb.close();
  writeUsersConfig(dir, { control: 'sqlite:control.db', old: 'sqlite:old.db', new: 'sqlite:new.db' });
}

/** The users migration as a config file: old `users(id, email, name)`, new `users(id, email)` + `user_profiles(user_id, full_name)` (a Redis side: one hash under its prefix). */
export function writeUsersConfig(
  dir: string,
  urls: { control: string; old: string; new: string },
  schemas: { old?: string; new?: string } = {},
  prefixes: { old?: string; new?: string } = {},
): string {
  const schema = (s: string | undefined): string => (s ? `, schema: '${s}'` : '');
  const prefix = (p: string | undefined): string => (p ? `, prefix: ${JSON.stringify(p)}` : '');
  const text = `import { col, sqlMapping } from 'midair';
import { defineConfig } from 'midair/config';
interface User { id: bigint; email: string; name: string }
export default defineConfig({
  control: ${JSON.stringify(urls.control)},
  migrations: {
    users: {
      old: { url: ${JSON.stringify(urls.old)}${prefix(prefixes.old)}, mapping: sqlMapping<User>({ key: 'id', tables: [{ table: 'users'${schema(schemas.old)}, columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') } }] }) },
      new: {
        url: ${JSON.stringify(urls.new)}${prefix(prefixes.new)},
        mapping: sqlMapping<User>({
          key: 'id',
          tables: [
            { table: 'users'${schema(schemas.new)}, columns: { id: col.bigint('id'), email: col.text('email') } },
            { table: 'user_profiles'${schema(schemas.new)}, columns: { id: col.bigint('user_id'), name: col.text('full_name') } },
          ],
        }),
      },
      gates: { minComparisons: 20, maxMismatchRate: 0.05, minCapacityCalls: 20, rollbackWindowHours: 0 },
      verify: { segmentRows: 500 },
    },
  },
});
`;
  const path = join(dir, 'midair.config.ts');
  writeFileSync(path, text);
  return path;
}
