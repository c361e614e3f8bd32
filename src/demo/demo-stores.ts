import { join } from 'node:path';
import type { ControlStore } from '../control/control-store.js';
import type { Store } from '../core/store.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../sqlite/index.js';
import { makeUser, NEW_SCHEMA, newUsers, OLD_SCHEMA, oldUsers, type DemoUser } from './users.js';

/** Old, new and the control store: one SQLite file each, in one folder. */
export interface DemoStores {
  readonly old: Store<bigint, DemoUser>;
  readonly new: Store<bigint, DemoUser>;
  readonly control: ControlStore;
}

const FILES = ['old.sqlite', 'new.sqlite', 'control.sqlite'] as const;

/**
 * Opens the demo's three files. Every thread that opens them has its own
 * connections: WAL mode lets readers run beside the one writer, and a writer
 * that finds the write lock taken waits for it (busy_timeout, set by
 * openSqlite) instead of failing. With `checkpoints: false`, a commit never
 * copies the write-ahead log into the database file: another thread does
 * it ({@link checkpointEvery}).
 */
export async function openDemoStores(dir: string, options: { checkpoints: boolean }): Promise<DemoStores> {
  const [oldDb, newDb, controlDb] = await Promise.all(FILES.map((f) => openSqlite(join(dir, f))));
  if (!oldDb || !newDb || !controlDb) throw new Error('unreachable: three files, three databases');
  if (!options.checkpoints) for (const db of [oldDb, newDb, controlDb]) db.pragma('wal_autocheckpoint = 0');
  return {
    old: sqliteStore(oldDb, oldUsers, { name: 'old (sqlite users)', ownsDatabase: true }),
    new: sqliteStore(newDb, newUsers, { name: 'new (sqlite users + user_profiles)', ownsDatabase: true }),
    control: sqliteControlStore(controlDb, { ownsDatabase: true }),
  };
}

/**
 * Copies each file's write-ahead log into the database every `ms`, on
 * connections of this thread's own (a passive checkpoint waits for no
 * writer and blocks none). Resolves a function that stops it.
 */
export async function checkpointEvery(dir: string, ms: number): Promise<() => void> {
  const dbs = await Promise.all(FILES.map((f) => openSqlite(join(dir, f))));
  const timer = setInterval(() => {
    for (const db of dbs) db.pragma('wal_checkpoint(PASSIVE)');
  }, ms);
  return () => {
    clearInterval(timer);
    for (const db of dbs) db.close();
  };
}

/**
 * Old, seeded; new, empty, in another schema; the control store in a third
 * file — opened for the serving thread, which leaves checkpoints to the job
 * thread.
 */
export async function createDemoStores(dir: string, rows: number, note: (event: string) => void): Promise<DemoStores> {
  const oldDb = await openSqlite(join(dir, 'old.sqlite'));
  oldDb.exec(OLD_SCHEMA);
  oldDb.close();
  const newDb = await openSqlite(join(dir, 'new.sqlite'));
  for (const sql of NEW_SCHEMA) newDb.exec(sql);
  newDb.close();
  const stores = await openDemoStores(dir, { checkpoints: false });
  await Promise.all([stores.old.setup(), stores.new.setup(), stores.control.setup()]);
  for (let i = 1; i <= rows; i += 2000)
    await stores.old.writeIfNewer(Array.from({ length: Math.min(2000, rows - i + 1) }, (_, j) => makeUser(i + j, 1)));
  note(`seeded ${rows} users into old (SQLite users); new is users + user_profiles with name → full_name`);
  return stores;
}
