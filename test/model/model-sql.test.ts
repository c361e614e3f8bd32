import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, sqlMapping, type Store } from '../../src/index.js';
import { availability, openBackend, type Backend } from '../support/backends.js';
import { runHistory, type Doc, type HistoryResult, type ModelStores } from './harness.js';

const PER_DIRECTION = Number(process.env.MIDAIR_MODEL_SQL_HISTORIES ?? 12);
const BASE_SEED = Number(process.env.MIDAIR_MODEL_SEED ?? Date.now() % 1_000_000);

const pg = availability('postgres');
const my = availability('mysql');
const run = pg.run && my.run;
const reason = [pg, my].filter((a) => !a.run).map((a) => a.reason).join('; ');

async function docs(backend: Backend, name: string): Promise<Store<number, Doc> & { table: string }> {
  const table = backend.unique(`docs_${name}`);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id integer PRIMARY KEY, tag text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id int PRIMARY KEY, tag varchar(100) NOT NULL) ENGINE=InnoDB`,
  });
  const store = backend.store<number, Doc>(sqlMapping<Doc>({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), tag: col.text('tag') } }] }));
  await store.setup();
  return Object.assign(store, { table });
}

describe.skipIf(!run)(`model-based test on real databases${run ? '' : ` — skipped: ${reason}`}`, () => {
  let postgres: Backend;
  let mysql: Backend;
  beforeAll(async () => {
    postgres = await openBackend('postgres');
    mysql = await openBackend('mysql');
  });
  afterAll(async () => {
    await postgres.close();
    await mysql.close();
  });

  async function pair(from: Backend, to: Backend): Promise<ModelStores> {
    const old = await docs(from, 'old');
    const target = await docs(to, 'new');
    return {
      old,
      new: target,
      async reset() {
        for (const [b, s] of [[from, old], [to, target]] as const) {
          await b.raw(`DELETE FROM ${s.table}`);
          await s.purgeTombstones();
        }
      },
    };
  }

  it.each([
    ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
    ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
  ] as const)(`holds the invariants over ${PER_DIRECTION} histories, %s`, async (label, from, to) => {
    const stores = await pair(from === 'postgres' ? postgres : mysql, to === 'postgres' ? postgres : mysql);
    const results: HistoryResult[] = [];
    for (let i = 0; i < PER_DIRECTION; i++) results.push(await runHistory({ seed: BASE_SEED + i, stores, opsPerClient: 15 }));
    const violations = results.flatMap((r) => r.violations.map((v) => `seed ${r.seed}: invariant ${v.invariant}: ${v.message}`));
    console.log(
      `model (${label}): ${results.length} histories, ${results.reduce((n, r) => n + r.ops, 0)} operations, ${results.reduce((n, r) => n + r.faults, 0)} faults injected, ${results.reduce((n, r) => n + r.transitions, 0)} phase changes, ${violations.length} violations`,
    );
    expect(violations.slice(0, 5).join('\n')).toBe('');
  });
});
