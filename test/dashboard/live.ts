import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachContext, openContext, pickMigration, type CliContext } from '../../src/cli/context.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { ControlStore } from '../../src/control/control-store.js';
import type { Store } from '../../src/core/store.js';
import { defineMigration, type Migration } from '../../src/migration/migration.js';
import type { ShadowOptions } from '../../src/migration/shadow.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../../src/sqlite/index.js';
import { writeSqliteUsers } from '../cli/cli-support.js';
import { NEW_USERS, OLD_USERS, type User } from './mappings.js';

const CHILD = fileURLToPath(new URL('./app-child.ts', import.meta.url));
/** The child runs from the TypeScript sources, as the other multi-process tests do. */
const JITI = fileURLToPath(new URL('../../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));

/** The users migration's files in a fresh folder, `rows` users in old, and its config. */
function files(rows: number): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'midair-dashboard-'));
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    const insert = old.prepare('INSERT INTO users VALUES (?, ?, ?)');
    for (let i = 1; i <= rows; i++) insert.run(i, `u${i}@example.com`, `user ${i}`);
  });
  return { dir, config: join(dir, 'midair.config.ts') };
}

/** A users migration on SQLite files, its application serving it, and the context a dashboard opens on it. */
export interface Live {
  readonly dir: string;
  readonly config: string;
  /** What `midair dashboard` opens from the config (its control store is what a test reads back). */
  readonly ctx: CliContext;
  close(): Promise<void>;
}

/**
 * The application in a process of its own (as it runs for real: SQLite
 * waits for another process's lock without stalling this one), and the
 * dashboard's context opened from the config, as `midair dashboard` opens it.
 */
export async function liveMigration(rows = 5): Promise<Live> {
  const { dir, config } = files(rows);
  const child = spawn(process.execPath, [JITI, CHILD], {
    env: { ...process.env, APP_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the application exited (${code}) before it served: ${stderr}`)));
  });
  const ctx = await openContext({ config }, true);
  return {
    dir,
    config,
    ctx,
    close: async () => {
      await ctx.close();
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The migration's stores and control store opened in this process, and a dashboard context over them. */
export interface Opened extends Live {
  readonly old: Store<bigint, User>;
  readonly newStore: Store<bigint, User>;
  readonly control: ControlStore;
}

/** The stores in this process and a context on the same connections (as the demo serves its own). */
export async function openedMigration(rows = 5): Promise<Opened> {
  const { dir, config } = files(rows);
  const [oldDb, newDb, controlDb] = await Promise.all(
    ['old.db', 'new.db', 'control.db'].map((f) => openSqlite(join(dir, f))),
  );
  if (!oldDb || !newDb || !controlDb) throw new Error('three files, three databases');
  const control = sqliteControlStore(controlDb, { ownsDatabase: true });
  const old = sqliteStore<bigint, User>(oldDb, OLD_USERS, { ownsDatabase: true });
  const newStore = sqliteStore<bigint, User>(newDb, NEW_USERS, { ownsDatabase: true });
  await Promise.all([control.setup(), old.setup(), newStore.setup()]);
  const loaded = await loadConfig(config);
  const ctx = attachContext(loaded, pickMigration(loaded, 'users'), { control, old, new: newStore });
  let closed = false;
  return {
    dir,
    config,
    ctx,
    old,
    newStore,
    control,
    close: async () => {
      if (closed) return;
      closed = true;
      await ctx.close();
      await Promise.all([old.close(), newStore.close(), control.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An application instance in this process too, on the same stores. */
export interface InProcess extends Opened {
  readonly app: Migration<bigint, User>;
}

export async function inProcessMigration(shadow: ShadowOptions<User>): Promise<InProcess> {
  const opened = await openedMigration();
  const { old, newStore, control } = opened;
  const app = await defineMigration<bigint, User>({
    name: 'users',
    old,
    new: newStore,
    control,
    instanceId: 'app-1',
    pollMs: 50,
    shadow,
  }).start();
  return {
    ...opened,
    app,
    close: async () => {
      await app.close();
      await opened.close();
    },
  };
}
