// The application of the dashboard's tests, in its own process as an application is: one instance of the users
// migration on the SQLite files in APP_DIR. It prints "ready" once it serves, and leaves the fleet cleanly on SIGTERM.
import { join } from 'node:path';
import { defineMigration } from '../../src/index.js';
import { openSqlite, sqliteControlStore, sqliteStore } from '../../src/sqlite/index.js';
import { NEW_USERS, OLD_USERS, type User } from './mappings.js';

const dir = process.env.APP_DIR ?? '.';
const [oldDb, newDb, controlDb] = await Promise.all(
  ['old.db', 'new.db', 'control.db'].map((f) => openSqlite(join(dir, f))),
);
if (!oldDb || !newDb || !controlDb) throw new Error('three files, three databases');
const control = sqliteControlStore(controlDb, { ownsDatabase: true });
const old = sqliteStore<bigint, User>(oldDb, OLD_USERS, { ownsDatabase: true });
const newSide = sqliteStore<bigint, User>(newDb, NEW_USERS, { ownsDatabase: true });
await Promise.all([control.setup(), old.setup(), newSide.setup()]);
const app = await defineMigration<bigint, User>({
  name: 'users',
  old,
  new: newSide,
  control,
  instanceId: process.env.APP_INSTANCE ?? 'app-1',
  pollMs: 50,
}).start();
process.stdout.write('ready\n');
// The instance's timers do not hold a process open (an application's server does): this one does, until SIGTERM.
const alive = setInterval(() => undefined, 60_000);
process.once('SIGTERM', () => {
  clearInterval(alive);
  void (async () => {
    await app.close();
    await Promise.all([old.close(), newSide.close(), control.close()]);
    process.exit(0);
  })();
});
