import { describe, expect, it } from 'vitest';
import { appliesAtOnce, type Backend, type BackendKind } from '../support/backends.js';
import { thingDdl, thingMapping, type Row, type Thing } from './fixtures.js';
import { edgeThings } from './types.js';
import { fencedRows, fencing, lockWaitOn } from './fence.js';
import type { Store } from '../../src/index.js';

const row = (id: number, version: number, v = `v${version}`): Row => ({ id: BigInt(id), version, v });

/** Holds `key`'s lock and row lock in the store until `release` is called (an unfenced sync whose read waits). */
function holdKey(
  store: Store<bigint, Row>,
  key: bigint,
  value: Row,
): { held: Promise<void>; release: () => void; done: Promise<unknown> } {
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let holding = (): void => undefined;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const done = store.syncKey(key, async () => {
    holding();
    await gate;
    return value;
  });
  return { held, release, done };
}

/**
 * Direct writes (`direct: true`): the application's own statement, no key
 * lock, tombstones left alone, the fence still checked where the write lands.
 */
export function directWriteSuite(get: () => Backend, kind: BackendKind): void {
  describe('direct writes', () => {
    it('put inserts and overwrites, delete says whether the key was there; a put keeps a tombstone, a delete leaves none', async () => {
      const { store } = await fencedRows(get());
      const fence = { migration: 'users', epoch: 0 };
      await store.put(row(1, 1), { direct: true, fence });
      await store.put(row(1, 2, 'again'), { direct: true, fence });
      await store.put(row(2, 1), { direct: true });
      expect(await store.getMany([1n, 2n])).toEqual([row(1, 2, 'again'), row(2, 1)]);
      expect(await store.delete(2n, { direct: true, fence })).toBe(true);
      expect(await store.delete(2n, { direct: true, fence })).toBe(false);
      expect(await store.getTombstone(2n)).toBeUndefined();
      await store.put(row(3, 1));
      await store.delete(3n); // leaves a tombstone
      const tombstone = await store.getTombstone(3n);
      expect(tombstone).toBeDefined();
      await store.put(row(3, 2), { direct: true, fence });
      expect(await store.getTombstone(3n)).toEqual(tombstone);
      expect(await store.get(3n)).toEqual(row(3, 2));
      expect(await store.count()).toBe(2);
    });

    it('writes every edge value exactly as a locked put does', async () => {
      const backend = get();
      const table = backend.unique('direct_things');
      await backend.ddl(thingDdl(table));
      const store = backend.store<bigint, Thing>(thingMapping(table));
      await store.setup();
      await store.fencing?.raiseFence({ migration: 'users', epoch: 0 });
      for (const t of edgeThings()) await store.put(t, { direct: true, fence: { migration: 'users', epoch: 0 } });
      for (const t of edgeThings()) expect(await store.get(t.id), `key ${t.id}`).toEqual(t);
      for (const t of edgeThings()) await store.put({ ...t, version: 2 }, { direct: true });
      for (const t of edgeThings()) expect(await store.get(t.id), `key ${t.id}`).toEqual({ ...t, version: 2 });
    });

    // In process a direct write takes no turn at all (there is no statement to wait on a lock), and a patch is an
    // updateKey (the repository's tests cover that path).
    if (appliesAtOnce(kind)) return;

    it('a direct patch sets only the given fields in place, and decides nothing for an absent key or a raised fence', async () => {
      const { store } = await fencedRows(get());
      const patching = store.patching;
      if (!patching) throw new Error(`${store.name} cannot patch directly`);
      await store.fencing?.raiseFence({ migration: 'users', epoch: 2 });
      await store.put(row(1, 1, 'kept'));
      expect(await patching.patch(1n, { version: 2 }, { fence: { migration: 'users', epoch: 2 } })).toEqual(
        row(1, 2, 'kept'),
      );
      expect(await patching.patch(1n, { v: 'patched' })).toEqual(row(1, 2, 'patched'));
      expect(await patching.patch(1n, { v: 'stale' }, { fence: { migration: 'users', epoch: 1 } })).toBeUndefined();
      expect(await patching.patch(9n, { v: 'absent' })).toBeUndefined();
      expect(await patching.patch(1n, { id: 1n })).toBeUndefined(); // no value field: nothing to set here
      expect(await store.get(1n)).toEqual(row(1, 2, 'patched'));
      expect(await store.count()).toBe(1);
    });

    it('a fence raised while a direct write waits for the key: the write lands before the raise resolves, or is refused and writes nothing', async () => {
      const backend = get();
      const { table, store } = await fencedRows(backend);
      const { raise } = fencing(store);
      await raise({ migration: 'users', epoch: 1 });
      for (const [what, key, write] of [
        [
          'put of a present key',
          1n,
          () => store.put(row(1, 9, 'direct'), { direct: true, fence: { migration: 'users', epoch: 1 } }),
        ],
        ['delete', 2n, () => store.delete(2n, { direct: true, fence: { migration: 'users', epoch: 2 } })],
      ] as const) {
        const epoch = what === 'delete' ? 2 : 1;
        await store.put(row(Number(key), 1, 'before'));
        const hold = holdKey(store, key, row(Number(key), 1, 'before'));
        await hold.held;
        let outcome: 'landed' | 'refused' | undefined;
        const direct = write().then(
          () => void (outcome = 'landed'),
          (error: unknown) => {
            expect(error, what).toMatchObject({ code: 'FENCED' });
            outcome = 'refused';
          },
        );
        await lockWaitOn(backend, table);
        const raised = raise({ migration: 'users', epoch: epoch + 1 }).then(async () => store.get(key));
        hold.release();
        const [afterRaise] = await Promise.all([raised, direct, hold.done]);
        // What the key held when the raise resolved: the direct write's outcome, already.
        if (outcome === 'landed') expect(afterRaise?.v, what).toBe(what === 'delete' ? undefined : 'direct');
        else expect(afterRaise, what).toEqual(row(Number(key), 1, 'before'));
        expect(await store.get(key), what).toEqual(afterRaise);
      }
    });
  });
}
