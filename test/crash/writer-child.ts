// One application instance in its own process, for the crash test: it writes
// keys through the migration and prints each acknowledged write, until the
// test kills it with SIGKILL. Its second writes are slowed down, so a kill
// lands between the two writes of some of them.
import pg from 'pg';
import { col, defineMigration, sqlMapping, type Store } from '../../src/index.js';
import { postgresControlStore, postgresStore } from '../../src/postgres/index.js';

interface Doc {
  id: number;
  tag: string;
}

const { MIDAIR_PG_URL, CRASH_SCHEMA, CRASH_INSTANCE = 'w', CRASH_KEYS } = process.env;
// Old, new and the control store each on a pool of their own, as they would be in separate databases.
const pool = (): pg.Pool =>
  new pg.Pool({ connectionString: MIDAIR_PG_URL, max: 4, options: `-c search_path=${CRASH_SCHEMA}` });
const mapping = (table: string) =>
  sqlMapping<Doc>({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), tag: col.text('tag') } }] });
const old = postgresStore<number, Doc>(pool(), mapping('docs_old'));
const inner = postgresStore<number, Doc>(pool(), mapping('docs_new'));
const slowNew: Store<number, Doc> = new Proxy(inner, {
  get(target, prop) {
    const value: unknown = Reflect.get(target, prop);
    if (typeof value !== 'function') return value;
    const real = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
    if (prop !== 'syncKey') return real;
    return async (...args: unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 40));
      return real(...args);
    };
  },
});
const migration = defineMigration<number, Doc>({
  name: 'crash',
  instanceId: CRASH_INSTANCE,
  old,
  new: slowNew,
  control: postgresControlStore(pool()),
  pollMs: 50,
  timeoutMs: 5000,
  repair: { enabled: false },
  autoHalt: false,
});
await migration.start();
const repo = migration.repository();
const keys = Number(CRASH_KEYS);
for (let n = 0; ; n++) {
  const id = Math.floor(Math.random() * keys);
  const tag = `${CRASH_INSTANCE}.${n}`;
  await repo.put({ id, tag });
  process.stdout.write(`acked ${id} ${tag}\n`);
}
