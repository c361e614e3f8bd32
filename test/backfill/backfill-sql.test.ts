import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Store } from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';
import { faultyStore, noFaults } from '../support/faulty-store.js';
import { openControlBackend, type ControlBackend } from '../control/control-backends.js';

interface Account {
  id: bigint;
  email: string;
  balance: string;
  version: number;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql', 'redis');

async function accounts(backend: Backend, name: string): Promise<Store<bigint, Account>> {
  const table = backend.unique(name);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email text NOT NULL, balance numeric(20,2) NOT NULL, version integer NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, email varchar(200) NOT NULL, balance decimal(20,2) NOT NULL, version int NOT NULL) ENGINE=InnoDB`,
  });
  const store = backend.store<bigint, Account>(
    sqlMapping<Account>({
      key: 'id',
      version: 'version',
      tables: [
        {
          table,
          columns: {
            id: col.bigint('id'),
            email: col.text('email'),
            balance: col.numeric('balance'),
            version: col.integer('version'),
          },
        },
      ],
    }),
  );
  await store.setup();
  return store;
}

async function contents(store: Store<bigint, Account>): Promise<Account[]> {
  const out: Account[] = [];
  for await (const chunk of store.scan({ chunkSize: 1000 })) out.push(...chunk);
  return out;
}

describe.skipIf(!run)(`backfill on real databases${run ? '' : ` — skipped: ${reason}`}`, () => {
  const db = suiteBackends('postgres', 'mysql', 'redis');
  let controlDb: ControlBackend;
  beforeAll(async () => {
    controlDb = await openControlBackend('postgres');
  });
  afterAll(async () => {
    await controlDb.close();
  });

  it('two processes share a parallel backfill through a PostgreSQL control store; one dies holding leases, nothing is lost', async () => {
    const old = await accounts(db.mysql, 'shared_old');
    const target = await accounts(db.postgres, 'shared_new');
    const N = 4000;
    for (let i = 0; i < N; i += 500) {
      await old.writeIfNewer(
        Array.from({ length: 500 }, (_, j) => ({
          id: BigInt(i + j),
          email: `s${i + j}@example.com`,
          balance: '1.00',
          version: 1,
        })),
      );
    }
    const prefix = controlDb.uniquePrefix();
    // Each "process" has its own connection pool to the control database.
    const start = async (id: string, control: ReturnType<ControlBackend['store']>) =>
      defineMigration({ name: 'shared', old, new: target, control, instanceId: id, pollMs: 20 }).start();
    const a = await start('a', controlDb.store(prefix));
    const b = await start('b', controlDb.separate(prefix));
    try {
      await a.advance({ reason: 'test' });
      await b.awaitFleet();
      const kill = new AbortController();
      let chunks = 0;
      const options = { workers: 2, ranges: 10, chunkSize: 100, targetChunkMs: 0, leaseMs: 300 };
      const [ra, rb] = await Promise.all([
        a.backfill({
          ...options,
          owner: 'a',
          signal: kill.signal,
          onProgress: () => void (++chunks === 5 && kill.abort()),
        }),
        b.backfill({ ...options, owner: 'b' }),
      ]);
      expect(ra.status).toBe('aborted');
      expect(rb.status).toBe('complete');
      expect(ra.inserted + rb.inserted).toBe(N);
      expect(await contents(target)).toEqual(await contents(old));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.each([
    ['PostgreSQL → MariaDB', 'postgres', 'mysql'],
    ['MariaDB → PostgreSQL', 'mysql', 'postgres'],
    ['PostgreSQL → Redis', 'postgres', 'redis'],
  ] as const)(
    '%s: killed at random points beside live writes, resumed until complete: contents equal, no duplicates',
    async (_label, from, to) => {
      const old = await accounts(db[from], 'accounts_old');
      const target = await accounts(db[to], 'accounts_new');
      const N = 3000;
      for (let i = 0; i < N; i += 500) {
        await old.writeIfNewer(
          Array.from({ length: 500 }, (_, j) => ({
            id: BigInt(i + j),
            email: `a${i + j}@example.com`,
            balance: `${i + j}.25`,
            version: 1,
          })),
        );
      }
      const oldFaults = noFaults();
      const newFaults = noFaults();
      const migration = await defineMigration({
        name: 'accounts',
        old: faultyStore(old, oldFaults),
        new: faultyStore(target, newFaults),
        control: memoryControlStore(),
        pollMs: 20,
      }).start();
      try {
        await migration.advance({ reason: 'test' });
        const repo = migration.repository();
        let live = true;
        const writer = (async () => {
          for (let n = 0; live; n++) {
            const id = BigInt(Math.floor(Math.random() * N));
            try {
              if (n % 7 === 0) await repo.delete(id);
              else await repo.put({ id, email: `live${n}@example.com`, balance: `${n}.5`, version: 100 + n });
            } catch {
              // The injected crashes hit live writes on old too; the client sees an error, and the write may or may not have applied.
            }
          }
        })();
        let runs = 0;
        let resumed = 0;
        for (;;) {
          runs++;
          oldFaults.errorRate = 0.01; // a crash: the run ends wherever this lands
          newFaults.lateErrorRate = 0.01; // …sometimes after its chunk committed
          // …and the first runs are also killed outright after a random number of chunks.
          const kill = new AbortController();
          const killAt = runs <= 3 ? 1 + Math.floor(Math.random() * 5) : 0;
          let chunks = 0;
          const result = await migration.backfill({
            chunkSize: 200,
            targetChunkMs: 0,
            signal: kill.signal,
            onProgress: () => {
              if (++chunks === killAt) kill.abort();
            },
          });
          oldFaults.errorRate = 0;
          newFaults.lateErrorRate = 0;
          if (result.resumedAfter !== undefined) resumed++;
          if (result.status === 'complete') break;
          expect(runs).toBeLessThan(300);
        }
        live = false;
        await writer;
        await migration.settle();
        await migration.drainRepairs();
        expect(resumed).toBeGreaterThan(0);
        const [a, b] = [await contents(old), await contents(target)];
        expect(b.length).toBe(a.length);
        expect(b).toEqual(a);
        expect(new Set(b.map((x) => x.id)).size).toBe(b.length);
      } finally {
        await migration.close();
      }
    },
  );
});
