import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/index.js';
import type { Fence } from '../../src/core/store.js';
import { appliesAtOnce, type Backend } from '../support/backends.js';
import { rowDdl, rowMapping, type Row } from './fixtures.js';

/** A row of the fixture table. */
export const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });

/** A table name no other test (of this run or another) uses: the lock-wait probe finds statements by it. */
export async function fencedRows(backend: Backend): Promise<{ table: string; store: Store<bigint, Row> }> {
  const table = backend.unique(`fenced_${Math.random().toString(36).slice(2, 8)}`);
  await backend.ddl(rowDdl(table));
  const store = backend.store<bigint, Row>(rowMapping(table));
  await store.setup();
  return { table, store };
}

/** The store's fence calls, which every adapter here has. */
export function fencing(store: Store<bigint, Row>): {
  raise: (fence: Fence) => Promise<void>;
  fenceOf: (migration: string) => Promise<number>;
} {
  const fences = store.fencing;
  if (!fences) throw new Error(`${store.name} has no fencing`);
  return { raise: (fence) => fences.raiseFence(fence), fenceOf: (migration) => fences.fenceOf(migration) };
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * Resolves once a statement naming `table` waits for a lock in the database
 * (PostgreSQL, MySQL/MariaDB); SQLite's waiters queue in the process, so it
 * lets the event loop turn instead.
 */
export async function lockWaitOn(backend: Backend, table: string): Promise<void> {
  const probe =
    backend.kind === 'postgres'
      ? `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%${table}%' AND query NOT LIKE '%pg_stat_activity%'`
      : backend.kind === 'mysql'
        ? `SELECT count(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE '%${table}%'`
        : undefined;
  if (!probe) return turns(50);
  for (;;) {
    const rows = await backend.raw(probe);
    if (Number(rows[0]?.[0] ?? 0) > 0) return;
    // InnoDB refreshes its transaction tables only when they were last read over 0.1 s ago: polling faster sees a stale copy forever.
    await new Promise((resolve) => setTimeout(resolve, backend.kind === 'mysql' ? 150 : 5));
  }
}

/** What a call that must be refused threw (an error saying it was not, if it was not). */
export async function refusal(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    () => new Error('the write was not refused'),
    (e: unknown) => e,
  );
}

export function fenceSuite(get: () => Backend): void {
  describe('fencing', () => {
    it('refuses every kind of write carrying an epoch below the fence, leaving rows and tombstones as they were', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      const { raise } = fencing(store);
      await store.put(row(1, 1, 'kept'));
      await store.put(row(2, 1));
      await store.delete(2n);
      const tombstone = await store.getTombstone(2n);
      await raise({ migration: 'users', epoch: 5 });
      const fence = { fence: { migration: 'users', epoch: 4 } };
      const many = Array.from({ length: 40 }, (_, i) => row(i + 1, 9, `bulk ${i}`)); // a batch large enough for the bulk (COPY) path
      const source = backend.store<bigint, Row>(rowMapping(table.replace('fenced', 'source')));
      const writes: [string, () => Promise<unknown>][] = [
        ['put', () => store.put(row(1, 9, 'stale'), fence)],
        ['put keeping the tombstone', () => store.put(row(2, 9, 'stale'), { ...fence, keepTombstone: true })],
        ['direct put', () => store.put(row(1, 9, 'stale'), { ...fence, direct: true })],
        ['direct put of an absent key', () => store.put(row(3, 9, 'stale'), { ...fence, direct: true })],
        ['direct delete', () => store.delete(1n, { ...fence, direct: true })],
        ['delete', () => store.delete(1n, fence)],
        ['delete without a tombstone', () => store.delete(1n, { ...fence, tombstone: false })],
        ['writeIfNewer', () => store.writeIfNewer([row(1, 9), row(3, 9)], fence)],
        ['writeIfNewer in bulk', () => store.writeIfNewer(many, fence)],
        ['syncKey (a put)', () => store.syncKey(2n, async () => Promise.resolve(row(2, 9, 'stale')), fence)],
        ['syncKey (a delete)', () => store.syncKey(1n, async () => Promise.resolve(undefined), fence)],
        [
          'syncMany',
          () =>
            store.syncMany(
              [1n, 2n, 3n],
              async (keys) => Promise.resolve(keys.map((k) => (k === 1n ? undefined : row(Number(k), 9)))),
              fence,
            ),
        ],
        [
          'syncMany in bulk',
          () =>
            store.syncMany(
              many.map((r) => r.id),
              async (keys) => Promise.resolve(keys.map((k) => row(Number(k), 9))),
              fence,
            ),
        ],
      ];
      for (const [what, write] of writes) {
        const error = await refusal(write);
        expect(error, what).toMatchObject({ code: 'FENCED' });
        expect((error as Error).message, what).toMatch(/"users".*epoch 5.*epoch 4/);
      }
      if (store.bulkCopy && !appliesAtOnce(backend.kind)) {
        await backend.ddl(rowDdl(table.replace('fenced', 'source')));
        await source.setup();
        await source.writeIfNewer(many);
        const from = async (): Promise<unknown> =>
          store.bulkCopy?.syncManyFrom(
            many.map((r) => r.id),
            source,
            fence,
          );
        if (backend.dialect === 'postgres')
          expect(await refusal(from), 'syncManyFrom').toMatchObject({ code: 'FENCED' });
        else expect(await from()).toBeUndefined(); // cannot: nothing done
      }
      expect(await store.get(1n)).toEqual(row(1, 1, 'kept'));
      expect(await store.getTombstone(1n)).toBeUndefined();
      expect(await store.get(2n)).toBeUndefined();
      expect(await store.getTombstone(2n)).toEqual(tombstone);
      expect(await store.count()).toBe(1);
    });

    it('lets through writes at the fence, above it, without a fence, and of other migrations; a missing fence is 0', async () => {
      const { store } = await fencedRows(get());
      const { raise, fenceOf } = fencing(store);
      expect(await fenceOf('users')).toBe(0);
      await store.put(row(1, 1), { fence: { migration: 'users', epoch: 0 } }); // no fence yet: 0
      await raise({ migration: 'users', epoch: 5 });
      await store.put(row(1, 2), { fence: { migration: 'users', epoch: 5 } });
      expect(
        await store.writeIfNewer([row(1, 3), row(2, 1)], { fence: { migration: 'users', epoch: 6 } }),
      ).toMatchObject({ inserted: 1, updated: 1 });
      expect(
        await store.syncKey(3n, async () => Promise.resolve(row(3, 1)), { fence: { migration: 'users', epoch: 5 } }),
      ).toBe('put');
      expect(
        await store.syncMany([4n], async () => Promise.resolve([row(4, 1)]), {
          fence: { migration: 'users', epoch: 7 },
        }),
      ).toMatchObject({ inserted: 1 });
      expect(await store.delete(4n, { fence: { migration: 'users', epoch: 5 } })).toBe(true);
      await store.put(row(5, 1)); // unfenced: never checked
      await store.put(row(7, 1), { fence: { migration: 'users', epoch: 5 }, direct: true }); // at the fence
      expect(await store.delete(7n, { fence: { migration: 'users', epoch: 6 }, direct: true })).toBe(true);
      await store.put(row(6, 1), { fence: { migration: 'orders', epoch: 1 } }); // another migration's fence is its own
      expect(await fenceOf('users')).toBe(5); // a write never moves the fence
      expect(await fenceOf('orders')).toBe(0);
      expect(await store.getMany([1n, 2n, 3n, 4n, 5n, 6n])).toEqual([
        row(1, 3),
        row(2, 1),
        row(3, 1),
        undefined,
        row(5, 1),
        row(6, 1),
      ]);
    });

    it('never lowers a fence, and keeps the fences of two migrations apart', async () => {
      const { store } = await fencedRows(get());
      const { raise, fenceOf } = fencing(store);
      await raise({ migration: 'users', epoch: 5 });
      await raise({ migration: 'users', epoch: 3 });
      await raise({ migration: 'orders', epoch: 2 });
      expect(await fenceOf('users')).toBe(5);
      expect(await fenceOf('orders')).toBe(2);
      expect(await refusal(() => store.put(row(1, 1), { fence: { migration: 'users', epoch: 4 } }))).toMatchObject({
        code: 'FENCED',
      });
      await store.put(row(1, 1), { fence: { migration: 'orders', epoch: 4 } });
      await raise({ migration: 'orders', epoch: 9 });
      expect(await fenceOf('users')).toBe(5);
      expect(await fenceOf('orders')).toBe(9);
    });

    it('refuses a malformed fence before anything is written', async () => {
      const { store } = await fencedRows(get());
      const { raise } = fencing(store);
      for (const bad of [
        { migration: '', epoch: 1 },
        { migration: 'users', epoch: -1 },
        { migration: 'users', epoch: 1.5 },
        { migration: 'x'.repeat(192), epoch: 1 },
      ]) {
        expect(await refusal(() => store.put(row(1, 1), { fence: bad }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
        expect(await refusal(() => raise(bad))).toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(await store.count()).toBe(0);
    });

    for (const before of ['the fence at 0, as a migration starting leaves it', 'a fence was raised'] as const) {
      it(`raiseFence resolves only once a write in flight that passed the old fence committed (${before}); later writes with that epoch are refused`, async () => {
        const backend = get();
        const { table, store } = await fencedRows(backend);
        const { raise, fenceOf } = fencing(store);
        const old = before === 'a fence was raised' ? 1 : 0;
        await raise({ migration: 'users', epoch: old });
        const events: string[] = [];
        let open = (): void => undefined;
        const gate = new Promise<void>((resolve) => (open = resolve));
        let reading = (): void => undefined;
        const readStarted = new Promise<void>((resolve) => (reading = resolve));
        const write = store
          .syncKey(
            1n,
            async () => {
              reading();
              await gate;
              return row(1, 1, 'in flight');
            },
            { fence: { migration: 'users', epoch: old } },
          )
          .then(
            (result) => void events.push(`write ${result}`),
            (error: unknown) =>
              void events.push(`write refused: ${(error as { code?: string }).code ?? String(error)}`),
          );
        await readStarted; // the write has passed the fence and holds it
        // What the raise promises is that the write it waited for has committed by the time it resolves: a read made
        // then sees the row. The order in which the two replies reach this process is not part of it (the server
        // releases the write's locks as it commits, and may answer the raise first).
        let seenOnRaise: unknown = 'not read';
        const raised = raise({ migration: 'users', epoch: old + 1 }).then(async () => {
          events.push('fence raised');
          seenOnRaise = await store.get(1n);
        });
        if (appliesAtOnce(backend.kind)) {
          // In process the check is made as the write applies: the raise need not wait, and the write is refused.
          await raised;
          open();
          await write;
          expect(events).toEqual(['fence raised', 'write refused: FENCED']);
          expect(await store.get(1n)).toBeUndefined();
        } else {
          await lockWaitOn(backend, `${table}_midair_fences`);
          expect(events).toEqual([]);
          open();
          await Promise.all([write, raised]);
          expect([...events].sort()).toEqual(['fence raised', 'write put']);
          expect(seenOnRaise).toEqual(row(1, 1, 'in flight'));
          expect(await store.get(1n)).toEqual(row(1, 1, 'in flight'));
        }
        expect(await fenceOf('users')).toBe(old + 1);
        expect(
          await refusal(() => store.put(row(1, 2, 'late'), { fence: { migration: 'users', epoch: old } })),
        ).toMatchObject({ code: 'FENCED' });
        expect((await store.get(1n))?.v).not.toBe('late');
      });
    }

    it('regression: a raise is not starved by a steady stream of writes holding the fence (PostgreSQL let their share locks pass the raise; a backfill timed out raising it under 2 000 writes/s)', async () => {
      const { store } = await fencedRows(get());
      const { raise, fenceOf } = fencing(store);
      await raise({ migration: 'users', epoch: 1 });
      const WRITERS = 8;
      // Eight writers, each holding the fence for 15 ms per write and starting its next write at once: at any moment
      // several of them hold it. Each goes on until its write is refused, or 200 writes.
      let started = 0;
      let raising = false;
      /** Per writer: writes it began after the raise was called that still landed. */
      const landedAfter = Array.from({ length: WRITERS }, () => 0);
      let allStarted = (): void => undefined;
      const running = new Promise<void>((resolve) => (allStarted = resolve));
      const writer = async (w: number): Promise<string> => {
        await new Promise((resolve) => setTimeout(resolve, w * 5));
        for (let n = 0; n < 200; n++) {
          const late = raising;
          try {
            await store.syncKey(
              BigInt(w + 1),
              async () => {
                if (n === 0 && ++started === WRITERS) allStarted();
                await new Promise((resolve) => setTimeout(resolve, 15));
                return row(w + 1, n + 1);
              },
              { fence: { migration: 'users', epoch: 1 } },
            );
            if (late) landedAfter[w] = (landedAfter[w] ?? 0) + 1;
          } catch (error) {
            return (error as { code?: string }).code ?? String(error);
          }
        }
        return 'never refused';
      };
      const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      await running;
      raising = true;
      await raise({ migration: 'users', epoch: 2 });
      expect(await fenceOf('users')).toBe(2);
      // The raise waited for the writes in flight, not for a lull: each writer's next write or the one after was refused.
      expect(await writers).toEqual(Array.from({ length: WRITERS }, () => 'FENCED'));
      expect(Math.max(...landedAfter)).toBeLessThanOrEqual(1);
    });

    it('raising a fence to the epoch it holds already waits for no write in flight at that epoch', async () => {
      const backend = get();
      const { store } = await fencedRows(backend);
      const { raise, fenceOf } = fencing(store);
      await raise({ migration: 'users', epoch: 2 });
      let open = (): void => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reading = (): void => undefined;
      const readStarted = new Promise<void>((resolve) => (reading = resolve));
      const write = store.syncKey(
        1n,
        async () => {
          reading();
          await gate;
          return row(1, 1, 'in flight');
        },
        { fence: { migration: 'users', epoch: 2 } },
      );
      await readStarted; // the write holds the fence
      if (backend.kind === 'sqlite') {
        // One handle, whose write transactions take their turns: the raise comes after the write, whatever it finds.
        const raised = raise({ migration: 'users', epoch: 2 });
        open();
        expect(await write).toBe('put');
        await raised;
      } else {
        await raise({ migration: 'users', epoch: 2 }); // resolves while the write is still open: nothing to wait for
        await raise({ migration: 'users', epoch: 1 }); // never lowers it either
        open();
        expect(await write).toBe('put');
      }
      expect(await fenceOf('users')).toBe(2);
    });

    it('a raise to an epoch another raise is still waiting to set waits for the write in flight too', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      const { raise, fenceOf } = fencing(store);
      await raise({ migration: 'users', epoch: 1 });
      const events: string[] = [];
      let open = (): void => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reading = (): void => undefined;
      const readStarted = new Promise<void>((resolve) => (reading = resolve));
      const write = store
        .syncKey(
          1n,
          async () => {
            reading();
            await gate;
            return row(1, 1, 'in flight');
          },
          { fence: { migration: 'users', epoch: 1 } },
        )
        .then((result) => void events.push(`write ${result}`));
      await readStarted;
      // What a raise sees once it returns: the write in flight must have committed before it (replies on two
      // connections may reach the client in either order, so the order of the callbacks alone proves nothing).
      const seen = async (name: string): Promise<void> => {
        events.push(`${name} raised${(await store.get(1n)) ? ' after the write' : ' before the write'}`);
      };
      const first = raise({ migration: 'users', epoch: 2 }).then(() => seen('first'));
      if (!appliesAtOnce(backend.kind)) await lockWaitOn(backend, `${table}_midair_fences`);
      // The first raise has not committed: the second sees the old fence and must wait its turn, not return at once.
      const second = raise({ migration: 'users', epoch: 2 }).then(() => seen('second'));
      if (appliesAtOnce(backend.kind)) {
        open();
        await Promise.all([write.catch(() => undefined), first, second]);
        expect(events.some((e) => e.startsWith('second raised'))).toBe(true);
      } else {
        await turns(20);
        expect(events).toEqual([]);
        open();
        await Promise.all([write, first, second]);
        expect(events).toContain('write put');
        expect(events.filter((e) => e !== 'write put').sort()).toEqual([
          'first raised after the write',
          'second raised after the write',
        ]);
      }
      expect(await fenceOf('users')).toBe(2);
    });
  });
}

/** SQL stores: the fence table is created by setup() and reported by check() when it is missing. */
export function fenceTableSuite(get: () => Backend): void {
  describe('the fence table', () => {
    it('is created by setup() beside the tombstone table, and check() says so when it is missing', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      expect(await store.check()).toMatchObject({ ok: true, problems: [] });
      await backend.ddl({
        postgres: `DROP TABLE ${table}_midair_fences`,
        mysql: `DROP TABLE ${table}_midair_fences`,
        sqlite: `DROP TABLE ${table}_midair_fences`,
      });
      const report = await store.check();
      expect(report.ok).toBe(false);
      expect(report.problems).toMatchObject([{ severity: 'error', table: `${table}_midair_fences` }]);
      expect(report.problems[0]?.message).toContain('store.setup()');
      const error = await refusal(() => store.put(row(1, 1), { fence: { migration: 'users', epoch: 1 } }));
      expect(error).toMatchObject({ code: 'SCHEMA_MISMATCH' });
      expect((error as Error).message).toContain("run store.setup() to create midair's fence table");
      await store.put(row(1, 1)); // unfenced writes never read it
      await store.setup();
      expect(await store.check()).toMatchObject({ ok: true, problems: [] });
      await store.put(row(1, 2), { fence: { migration: 'users', epoch: 1 } });
      expect(await store.get(1n)).toEqual(row(1, 2));
    });
  });
}
