import { describe, expect, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Store } from '../../src/index.js';
import { availabilityOfAll, suiteBackends, type Backend } from '../support/backends.js';

/**
 * The backfill reads old's rows ahead of new's locks (one range read), and
 * a key new holds neither a row nor a tombstone of under its lock takes the
 * row read ahead (decision 0017). These tests put live writes in the window
 * between that read and the locks — some that finish there, some whose
 * second write is held until the chunk committed — and check that new ends
 * equal to old.
 */

interface Row {
  id: bigint;
  name: string;
  n: number;
}

const { run, reason } = availabilityOfAll('postgres', 'mysql');

async function rows(backend: Backend, base: string): Promise<Store<bigint, Row>> {
  const table = backend.unique(base);
  await backend.ddl({
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text NOT NULL, n integer NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, name varchar(100) NOT NULL, n int NOT NULL) ENGINE=InnoDB`,
  });
  const store = backend.store<bigint, Row>(
    sqlMapping<Row>({
      key: 'id',
      tables: [{ table, columns: { id: col.bigint('id'), name: col.text('name'), n: col.integer('n') } }],
    }),
  );
  await store.setup();
  return store;
}

async function contents(store: Store<bigint, Row>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const chunk of store.scan({ chunkSize: 1000 })) out.push(...chunk);
  return out;
}

/** `inner` with every method bound to it, and `overrides` on top. */
function delegate<K extends bigint, E extends object>(
  inner: Store<K, E>,
  overrides: Partial<Store<K, E>>,
): Store<K, E> {
  const bound: Record<string, unknown> = {};
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(inner)) as (keyof Store<K, E>)[]) {
    const member: unknown = Reflect.get(inner, name);
    if (name !== ('constructor' as never) && typeof member === 'function')
      bound[name] = (member as (...a: unknown[]) => unknown).bind(inner);
  }
  for (const name of [
    'name',
    'versioned',
    'keyFields',
    'keyReads',
    'hashing',
    'fencing',
    'lookups',
    'patching',
  ] as const)
    bound[name] = inner[name];
  return { ...(bound as unknown as Store<K, E>), ...overrides };
}

/** Until `check` holds (a write landed in old), polling. */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await check()); i++) await new Promise((r) => setTimeout(r, 5));
  if (!(await check())) throw new Error('the live write never reached old');
}

describe.skipIf(!run)(
  `writes between the backfill's read ahead and its locks${run ? '' : ` — skipped: ${reason}`}`,
  () => {
    const db = suiteBackends('postgres', 'mysql');

    it('regression: old behind a Proxy (a wrapper that passes instanceof) failed every chunk with a TypeError; now it is copied as any store', async () => {
      const inner = await rows(db.postgres, 'proxy_old');
      const target = await rows(db.postgres, 'proxy_new');
      await inner.writeIfNewer(Array.from({ length: 50 }, (_, i) => ({ id: BigInt(i), name: `old ${i}`, n: 1 })));
      const old = new Proxy(inner, {
        get(t, prop, receiver) {
          const value: unknown = Reflect.get(t, prop, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
        },
      });
      const m = defineMigration({ name: 'proxied', old, new: target, control: memoryControlStore() });
      try {
        await m.advance({ reason: 'test' });
        expect(await m.backfill({ chunkSize: 20, targetChunkMs: 0 })).toMatchObject({
          status: 'complete',
          inserted: 50,
        });
        expect(await contents(target)).toEqual(await contents(inner));
      } finally {
        await m.close();
      }
    });

    it.each([
      ['PostgreSQL → PostgreSQL (one range read of binary COPY tuples)', 'postgres'],
      ['MariaDB → PostgreSQL (entities read ahead by range)', 'mysql'],
    ] as const)('%s: new ends equal to old', async (_label, from) => {
      const old = await rows(from === 'postgres' ? db.postgres : db.mysql, 'ahead_old');
      const realNew = await rows(db.postgres, 'ahead_new');
      const N = 600;
      await old.writeIfNewer(Array.from({ length: N }, (_, i) => ({ id: BigInt(i), name: `old ${i}`, n: 1 })));
      const control = memoryControlStore();

      // The application's instance: its writes to new wait while `hold` is set.
      let hold: Promise<void> | undefined;
      const held =
        <A extends unknown[], T>(fn: (...a: A) => Promise<T>) =>
        async (...a: A): Promise<T> => {
          if (hold) await hold;
          return fn(...a);
        };
      const appNew = delegate(realNew, {
        syncKey: held(realNew.syncKey.bind(realNew)),
        updateKey: held(realNew.updateKey.bind(realNew)),
        put: held(realNew.put.bind(realNew)),
        delete: held(realNew.delete.bind(realNew)),
      });
      const app = await defineMigration({ name: 'ahead', old, new: appNew, control, pollMs: 20 }).start();
      const repo = app.repository();
      const pending: Promise<unknown>[] = [];
      const seenEarly: bigint[] = [];
      let windows = 0;

      // In the window, for a chunk of keys: one put that finishes (new then holds the key), and a put and a delete
      // whose second write waits until the chunk committed.
      const window = async (keys: readonly bigint[]): Promise<() => Promise<void>> => {
        if (windows++ >= 3 || keys.length < 8) return () => Promise.resolve();
        const [done, late, gone] = [keys[2] as bigint, keys[5] as bigint, keys[7] as bigint];
        await repo.put({ id: done, name: 'live, finished', n: 2 });
        let release = (): void => undefined;
        hold = new Promise((resolve) => (release = resolve));
        pending.push(repo.put({ id: late, name: 'live, second write held', n: 3 }), repo.delete(gone));
        await until(async () => (await old.get(late))?.n === 3 && (await old.get(gone)) === undefined);
        return async () => {
          // The chunk committed: new took the rows read ahead for the two held keys; now their own syncs run.
          if ((await realNew.get(late))?.n === 1) seenEarly.push(late);
          if ((await realNew.get(gone)) !== undefined) seenEarly.push(gone);
          hold = undefined;
          release();
        };
      };
      const target = delegate(realNew, {
        async syncMany(keys, read, options) {
          const after = await window(keys);
          try {
            return await realNew.syncMany(keys, read, options);
          } finally {
            await after();
          }
        },
        ...(realNew.bulkCopy
          ? {
              bulkCopy: {
                syncManyFrom: realNew.bulkCopy.syncManyFrom.bind(realNew.bulkCopy),
                async rangeFrom(source, range, options) {
                  const planned = await realNew.bulkCopy?.rangeFrom?.(source, range, options);
                  return (
                    planned && {
                      keys: planned.keys,
                      async sync() {
                        const after = await window(planned.keys);
                        try {
                          return await planned.sync();
                        } finally {
                          await after();
                        }
                      },
                    }
                  );
                },
              },
            }
          : {}),
      });
      const operator = defineMigration({ name: 'ahead', old, new: target, control, pollMs: 20 });
      try {
        await operator.advance({ reason: 'test' });
        await app.awaitFleet();
        const result = await operator.backfill({ chunkSize: 50, targetChunkMs: 0 });
        expect(result.status).toBe('complete');
        await Promise.all(pending);
        await app.settle();
        // The fast path ran: new took the early rows of keys whose live writes were still in flight…
        expect(seenEarly).toHaveLength(6);
        // …and every key ends as old holds it.
        expect(await contents(realNew)).toEqual(await contents(old));
        expect(await realNew.get(7n)).toBeUndefined();
      } finally {
        await operator.close();
        await app.close();
      }
    });
  },
);
