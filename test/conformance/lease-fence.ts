import { describe, expect, it } from 'vitest';
import { leaseFenceName } from '../../src/core/fence-rules.js';
import { appliesAtOnce, type Backend } from '../support/backends.js';
import { fencedRows, fencing, lockWaitOn, refusal, row } from './fence.js';
import { rowDdl, rowMapping, type Row } from './fixtures.js';

/**
 * A write's second fence, its job's lease on a range (`CallOptions.lease`):
 * refused like the phase fence, checked with it where the write lands, and
 * raised by the range's next holder.
 */
export function leaseFenceSuite(get: () => Backend): void {
  describe('lease fences', () => {
    const lease = leaseFenceName('users', 'backfill', 3);

    it('refuses every bulk write carrying a lease below the range’s fence (its phase fence holding), writing nothing', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      const { raise } = fencing(store);
      await store.put(row(1, 1, 'kept'));
      await raise({ migration: 'users', epoch: 2 });
      await raise({ migration: lease, epoch: 7 });
      const stale = { fence: { migration: 'users', epoch: 2 }, lease: { migration: lease, epoch: 6 } };
      const many = Array.from({ length: 40 }, (_, i) => row(i + 1, 9, `bulk ${i}`));
      const writes: [string, () => Promise<unknown>][] = [
        ['writeIfNewer', () => store.writeIfNewer([row(1, 9), row(3, 9)], stale)],
        ['writeIfNewer in bulk', () => store.writeIfNewer(many, stale)],
        ['syncMany', () => store.syncMany([1n, 2n], async (keys) => Promise.resolve(keys.map(() => undefined)), stale)],
        [
          'syncMany in bulk',
          () =>
            store.syncMany(
              many.map((r) => r.id),
              async (keys) => Promise.resolve(keys.map((k) => row(Number(k), 9))),
              stale,
            ),
        ],
        ['put', () => store.put(row(1, 9, 'stale'), stale)],
        ['delete', () => store.delete(1n, stale)],
      ];
      for (const [what, write] of writes) {
        const error = await refusal(write);
        expect(error, what).toMatchObject({ code: 'FENCED' });
        expect((error as Error).message, what).toContain(
          `"${lease}" is fenced at epoch 7 and this write carries epoch 6`,
        );
      }
      if (store.bulkCopy && backend.dialect === 'postgres') {
        const source = backend.store<bigint, Row>(rowMapping(table.replace('fenced', 'source')));
        await backend.ddl(rowDdl(table.replace('fenced', 'source')));
        await source.setup();
        await source.writeIfNewer(many);
        const from = async (): Promise<unknown> =>
          store.bulkCopy?.syncManyFrom(
            many.map((r) => r.id),
            source,
            stale,
          );
        expect(await refusal(from), 'syncManyFrom').toMatchObject({ code: 'FENCED' });
      }
      expect(await store.getMany([1n, 2n, 3n])).toEqual([row(1, 1, 'kept'), undefined, undefined]);
      expect(await store.count()).toBe(1);
    });

    it('lets a write through only where both its fences hold: the lease at its fence passes, a stale phase refuses it all the same', async () => {
      const { store } = await fencedRows(get());
      const { raise, fenceOf } = fencing(store);
      await raise({ migration: 'users', epoch: 2 });
      await raise({ migration: lease, epoch: 7 });
      const held = { fence: { migration: 'users', epoch: 2 }, lease: { migration: lease, epoch: 7 } };
      expect(await store.writeIfNewer([row(1, 1)], held)).toMatchObject({ inserted: 1 });
      expect(await store.syncMany([2n], async () => Promise.resolve([row(2, 1)]), held)).toMatchObject({
        inserted: 1,
      });
      const stalePhase = { fence: { migration: 'users', epoch: 1 }, lease: { migration: lease, epoch: 7 } };
      expect(await refusal(() => store.writeIfNewer([row(3, 1)], stalePhase))).toMatchObject({ code: 'FENCED' });
      // Another range's lease is its own; a lease alone (no phase fence) is checked all the same.
      const other = leaseFenceName('users', 'backfill', 4);
      expect(await store.writeIfNewer([row(4, 1)], { lease: { migration: other, epoch: 1 } })).toMatchObject({
        inserted: 1,
      });
      expect(
        await refusal(() => store.writeIfNewer([row(5, 1)], { lease: { migration: lease, epoch: 1 } })),
      ).toMatchObject({ code: 'FENCED' });
      expect(await fenceOf(lease)).toBe(7);
      expect(await fenceOf('users')).toBe(2); // a lease's fence is apart from the migration's
      expect(await store.getMany([1n, 2n, 3n, 4n, 5n])).toEqual([
        row(1, 1),
        row(2, 1),
        undefined,
        row(4, 1),
        undefined,
      ]);
    });

    it('refuses a malformed lease before anything is written', async () => {
      const { store } = await fencedRows(get());
      for (const bad of [
        { migration: '', epoch: 1 },
        { migration: lease, epoch: -1 },
      ])
        expect(await refusal(() => store.writeIfNewer([row(1, 1)], { lease: bad }))).toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      expect(await store.count()).toBe(0);
    });

    it('a new holder’s raise waits for the old holder’s write in flight; the old holder’s next write is refused', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      const { raise } = fencing(store);
      await raise({ migration: 'users', epoch: 1 });
      await raise({ migration: lease, epoch: 5 });
      const oldHolder = { fence: { migration: 'users', epoch: 1 }, lease: { migration: lease, epoch: 5 } };
      const events: string[] = [];
      let open = (): void => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reading = (): void => undefined;
      const readStarted = new Promise<void>((resolve) => (reading = resolve));
      const write = store
        .syncMany(
          [1n],
          async () => {
            reading();
            await gate;
            return [row(1, 1, 'in flight')];
          },
          oldHolder,
        )
        .then(
          () => void events.push('write landed'),
          (error: unknown) => void events.push(`write refused: ${(error as { code?: string }).code ?? String(error)}`),
        );
      await readStarted; // the old holder's write has passed both fences and holds them
      const raised = raise({ migration: lease, epoch: 6 }).then(() => void events.push('lease raised'));
      if (appliesAtOnce(backend.kind)) {
        await raised;
        open();
        await write;
        expect(events).toEqual(['lease raised', 'write refused: FENCED']);
      } else {
        await lockWaitOn(backend, `${table}_midair_fences`);
        expect(events).toEqual([]); // the raise waits for the write that passed the old fence
        open();
        await Promise.all([write, raised]);
        expect([...events].sort()).toEqual(['lease raised', 'write landed']);
      }
      expect(await refusal(() => store.writeIfNewer([row(2, 1, 'late')], oldHolder))).toMatchObject({
        code: 'FENCED',
      });
      expect(await store.get(2n)).toBeUndefined();
    });
  });
}
