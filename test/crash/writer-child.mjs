// One application instance in its own process, for the crash test: it writes
// keys through the migration and prints each acknowledged write, until the
// test kills it with SIGKILL. Its second writes are slowed down, so a kill
// lands between the two writes of some of them.
import pg from 'pg';
import { col, defineMigration, sqlMapping } from '../../dist/index.js';
import { postgresControlStore, postgresStore } from '../../dist/postgres/index.js';

const { MIDAIR_PG_URL, CRASH_SCHEMA, CRASH_INSTANCE, CRASH_KEYS } = process.env;
// Old, new and the control store each on a pool of their own, as they would be in separate databases.
const pool = () => new pg.Pool({ connectionString: MIDAIR_PG_URL, max: 4, options: `-c search_path=${CRASH_SCHEMA}` });
const mapping = (table) => sqlMapping({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), tag: col.text('tag') } }] });
const old = postgresStore(pool(), mapping('docs_old'));
const inner = postgresStore(pool(), mapping('docs_new'));
const slowNew = new Proxy(inner, {
  get(target, prop) {
    const value = Reflect.get(target, prop);
    if (prop !== 'syncKey') return typeof value === 'function' ? value.bind(target) : value;
    return async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 40));
      return value.apply(target, args);
    };
  },
});
const migration = defineMigration({
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
