import { describe, expect, it } from 'vitest';
import { col, sqlMapping, type Store } from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';
import { runHistory, type Doc, type HistoryResult, type ModelStores } from './harness.js';

const PER_DIRECTION = Number(process.env.MIDAIR_MODEL_SQL_HISTORIES ?? 12);
/**
 * Real servers run on real time, so a seed fixes the harness's choices but not the timing: the seeds are fixed
 * (MIDAIR_MODEL_SQL_SEED moves them) and every failure names its seed. Long pauses are left to the simulated
 * histories (they would take seconds of real time each).
 */
const BASE_SEED = Number(process.env.MIDAIR_MODEL_SQL_SEED ?? 1);
const WORKLOAD = { longPauses: false } as const;

const { run, reason } = availabilityOfAll('postgres', 'mysql', 'redis');

async function docs(backend: Backend, name: string): Promise<Store<number, Doc> & { table: string }> {
  const table = backend.unique(`docs_${name}`);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id integer PRIMARY KEY, tag text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id int PRIMARY KEY, tag varchar(100) NOT NULL) ENGINE=InnoDB`,
  });
  const store = backend.store<number, Doc>(
    sqlMapping<Doc>({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), tag: col.text('tag') } }] }),
  );
  await store.setup();
  return Object.assign(store, { table });
}

describe.skipIf(!run)(`model-based test on real stores${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql', 'redis');

  /** Fresh tables for each history: a write of an earlier history that lands late cannot reach this one. */
  async function pair(from: Backend, to: Backend): Promise<ModelStores> {
    return { old: await docs(from, 'old'), new: await docs(to, 'new') };
  }

  it.each([
    ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
    ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
    ['PostgreSQL → Redis', 'postgres', 'redis'],
    ['Redis → PostgreSQL', 'redis', 'postgres'],
  ] as const)(`holds the invariants over ${PER_DIRECTION} histories, %s`, async (label, from, to) => {
    const backend = (kind: typeof from): Backend => db[kind];
    const results: HistoryResult[] = [];
    let firstTrace: string[] | undefined;
    for (let i = 0; i < PER_DIRECTION; i++) {
      const trace: string[] = [];
      const stores = await pair(backend(from), backend(to));
      const result = await runHistory({ seed: BASE_SEED + i, stores, opsPerClient: 15, workload: WORKLOAD, trace });
      results.push(result);
      if (result.violations.length > 0) firstTrace ??= [`history of seed ${result.seed}:`, ...trace];
    }
    // Timing is not replayable on real servers: the failing history is printed as it ran.
    if (firstTrace) console.log(firstTrace.join('\n'));
    const violations = results.flatMap((r) =>
      r.violations.map(
        (v) =>
          `seed ${r.seed} (MIDAIR_MODEL_SQL_SEED=${r.seed} MIDAIR_MODEL_SQL_HISTORIES=1 npx vitest run test/model/model-sql.test.ts -t '${label}'): invariant ${v.invariant}: ${v.message}`,
      ),
    );
    console.log(
      `model (${label}, seeds ${BASE_SEED}..${BASE_SEED + PER_DIRECTION - 1}): ${results.length} histories, ${results.reduce((n, r) => n + r.ops, 0)} operations, ${results.reduce((n, r) => n + r.faults, 0)} faults injected, ${results.reduce((n, r) => n + r.transitions, 0)} phase changes, ${violations.length} violations`,
    );
    expect(violations.slice(0, 5).join('\n')).toBe('');
  });
});
