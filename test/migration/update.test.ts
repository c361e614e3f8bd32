import { describe, expect, it } from 'vitest';
import type { Phase } from '../../src/index.js';
import { item, rig, type Item } from './setup.js';

const PHASES: readonly [Phase, number?][] = [
  ['old-only'],
  ['dual-write'],
  ['shadow-read'],
  ['ramp', 50],
  ['new-primary'],
  ['old-read-only'],
  ['complete'],
];

describe('adoption 2: update and patch through the repository', () => {
  it.each(PHASES)(
    'regression: an application’s “update only these columns” became get + put and lost concurrent updates; racing patches of different fields from two instances all land (%s)',
    async (phase, ramp) => {
      const r = await rig({ repair: { enabled: false } });
      const other = await r.instance();
      await r.goTo(phase, ramp);
      await r.migration.repository().put(item(1, 1, ''));
      // Both stores hold the key where the phase writes both (a backfill would have copied it).
      const repos = [r.migration.repository(), other.repository()];
      // Two instances append to the same field and patch different fields, interleaved on the event loop.
      const rounds = 20;
      await Promise.all(
        repos.map(async (repo, w) => {
          for (let i = 0; i < rounds; i++) {
            await repo.update(1, (current) =>
              current ? { ...current, version: current.version + 1, v: `${current.v}${w}` } : undefined,
            );
          }
        }),
      );
      const final = await repos[0]?.get(1);
      expect(final?.version).toBe(1 + 2 * rounds);
      expect([...(final?.v ?? '')].sort().join('')).toBe('0'.repeat(rounds) + '1'.repeat(rounds));
      // The store the phase keeps in step holds the same value.
      const authority = ['old-only', 'dual-write', 'shadow-read', 'ramp'].includes(phase) ? r.oldStore : r.newStore;
      expect(await authority.get(1)).toEqual(final);
      if (!['old-only', 'complete', 'old-read-only'].includes(phase)) {
        await r.migration.settle();
        const mirror = authority === r.oldStore ? r.newStore : r.oldStore;
        expect(await mirror.get(1)).toEqual(final);
      }
    },
  );

  it('patch changes only the given fields, concurrently from two instances, and resolves the patched entity', async () => {
    const r = await rig({ repair: { enabled: false } });
    const other = await r.instance();
    await r.goTo('dual-write');
    const repos = [r.migration.repository(), other.repository()] as const;
    const profile = { id: 7, version: 1, v: 'x' } satisfies Item;
    await repos[0].put(profile);
    const results = await Promise.all([repos[0].patch(7, { v: 'bio' }), repos[1].patch(7, { version: 9 })]);
    expect(results.map((e) => e?.id)).toEqual([7, 7]);
    expect(await repos[0].get(7)).toEqual({ id: 7, version: 9, v: 'bio' });
    expect(await repos[1].patch(8, { v: 'nobody' })).toBeUndefined();
    expect(await r.oldStore.get(8)).toBeUndefined();
    expect(await r.newStore.get(8)).toBeUndefined();
  });

  it('update reads a key new never held from old in the merge phases, and leaves it as it is when the function says so', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('new-primary');
    // Only old holds the key: it was never written while the migration ran (no row, no tombstone in new).
    await r.oldStore.put(item(3, 4, 'old'));
    const repo = r.migration.repository();
    expect(await repo.update(3, () => undefined)).toEqual(item(3, 4, 'old'));
    expect(await r.newStore.get(3)).toBeUndefined();
    expect(await repo.update(3, (current) => current && { ...current, version: 5, v: 'moved' })).toEqual(
      item(3, 5, 'moved'),
    );
    expect(await r.newStore.get(3)).toEqual(item(3, 5, 'moved'));
    // Deleted in new: the update sees it absent, never old's stale copy.
    await repo.delete(3);
    const seen: (Item | undefined)[] = [];
    await repo.update(3, (current) => {
      seen.push(current);
      return undefined;
    });
    expect(seen).toEqual([undefined]);
  });

  it('refuses an update that changes the key, and a patch of a key field, writing nothing', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    await expect(repo.update(1, () => item(2, 2))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(repo.patch(1, { id: 2 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('"id" is a key field') as string,
    });
    expect(await repo.patch(1, { id: 1, v: 'same key' })).toEqual(item(1, 1, 'same key'));
    expect(await r.oldStore.get(2)).toBeUndefined();
    expect(await r.newStore.get(2)).toBeUndefined();
  });

  it('strict mode: racing updates land in both stores or neither, and none is lost', async () => {
    const r = await rig({ repair: { enabled: false } });
    const other = await r.instance();
    await r.goTo('dual-write');
    await r.migration.setStrict(true, { reason: 'test: strict updates' });
    const repos = [r.migration.repository(), other.repository()];
    await repos[0]?.put(item(1, 0, ''));
    await Promise.all(
      repos.map(async (repo, w) => {
        for (let i = 0; i < 10; i++)
          await repo.update(1, (c) => c && { ...c, version: c.version + 1, v: `${c.v}${w}` });
      }),
    );
    const final = await r.oldStore.get(1);
    expect(final?.version).toBe(20);
    expect(await r.newStore.get(1)).toEqual(final);
  });
});
