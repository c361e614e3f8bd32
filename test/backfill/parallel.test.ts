import { describe, expect, it } from 'vitest';
import { item, rig } from '../migration/setup.js';

async function fill(store: { writeIfNewer(e: ReturnType<typeof item>[]): Promise<unknown> }, n: number): Promise<void> {
  for (let i = 0; i < n; i += 500)
    await store.writeIfNewer(Array.from({ length: Math.min(500, n - i) }, (_, j) => item(i + j, 1, `old ${i + j}`)));
}

describe('parallel backfill over leased ranges', () => {
  it('splits the key space at sampled keys and copies every row once with several workers', async () => {
    const r = await rig();
    await fill(r.oldStore, 5000);
    await r.goTo('dual-write');
    const result = await r.migration.backfill({ workers: 4, ranges: 16, chunkSize: 100, targetChunkMs: 0 });
    expect(result).toMatchObject({ status: 'complete', rowsRead: 5000, inserted: 5000, updated: 0 });
    const ranges = await r.control.ranges('items', 'backfill');
    expect(ranges).toHaveLength(16);
    expect(ranges.every((x) => x.complete)).toBe(true);
    expect(await r.newStore.count()).toBe(5000);
    expect(await r.migration.backfill({ workers: 4 })).toMatchObject({ status: 'complete', rowsRead: 0 }); // done is done
  });

  it('two processes share one backfill; killing one mid-lease loses nothing: the other takes its ranges over', async () => {
    const r = await rig();
    await fill(r.oldStore, 4000);
    await r.goTo('dual-write');
    const other = await r.instance({ instanceId: 'second' });
    const kill = new AbortController();
    let chunksA = 0;
    const options = { workers: 2, ranges: 12, chunkSize: 50, targetChunkMs: 0, leaseMs: 150 };
    const [a, b] = await Promise.all([
      r.migration.backfill({
        ...options,
        owner: 'process-a',
        signal: kill.signal,
        onProgress: () => {
          if (++chunksA === 6) kill.abort(); // dies holding its leases
        },
      }),
      other.backfill({ ...options, owner: 'process-b' }),
    ]);
    expect(a.status).toBe('aborted');
    expect(b.status).toBe('complete');
    expect(a.inserted + b.inserted).toBe(4000); // every key inserted exactly once
    expect(a.rowsRead).toBeGreaterThan(0);
    // Every range ended complete, the ones process-a held when it died included.
    expect((await r.control.ranges('items', 'backfill')).every((x) => x.complete)).toBe(true);
    expect(await r.newStore.count()).toBe(4000);
  });

  it('resumes a killed parallel run from the progress each range recorded', async () => {
    const r = await rig();
    await fill(r.oldStore, 3000);
    await r.goTo('dual-write');
    const kill = new AbortController();
    let n = 0;
    const first = await r.migration.backfill({
      workers: 3,
      chunkSize: 40,
      targetChunkMs: 0,
      leaseMs: 100,
      signal: kill.signal,
      onProgress: () => {
        if (++n === 10) kill.abort();
      },
    });
    expect(first.status).toBe('aborted');
    await new Promise((resolve) => setTimeout(resolve, 150)); // the dead run's leases run out
    const second = await r.migration.backfill({ workers: 3, chunkSize: 40, targetChunkMs: 0, leaseMs: 100 });
    expect(second.status).toBe('complete');
    expect(first.inserted + second.inserted).toBe(3000);
    expect(second.rowsRead).toBeLessThan(3000);
  });
});

describe('leased ranges fenced where the write lands', () => {
  it('a worker stalled past its lease cannot write once its range changed hands: its write is refused, every row counted once', async () => {
    const r = await rig();
    await fill(r.oldStore, 1000);
    await r.goTo('dual-write');
    let stalled = (): void => undefined;
    const isStalled = new Promise<void>((resolve) => (stalled = resolve));
    let resume = (): void => undefined;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    const refusals: string[] = [];
    let first = true;
    // Process A's new store: its first sync stalls (the process paused) before it writes.
    const stalling = new Proxy(r.newStore, {
      get(target, prop, receiver) {
        if (prop !== 'syncMany') {
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (...args: Parameters<typeof target.syncMany>) => {
          if (first) {
            first = false;
            stalled();
            await gate;
          }
          return target.syncMany(...args).catch((error: unknown) => {
            refusals.push((error as { code?: string }).code ?? 'unknown');
            throw error;
          });
        };
      },
    });
    const a = await r.instance({ instanceId: 'process-a', new: stalling });
    const b = await r.instance({ instanceId: 'process-b' });
    const options = { workers: 2, ranges: 2, chunkSize: 100, targetChunkMs: 0, leaseMs: 100 };
    const runA = a.backfill({ ...options, owner: 'process-a' });
    await isStalled;
    // The other workers copy the other range, wait for the stalled one's lease to run out, take it over and finish it.
    const resultB = await b.backfill({ ...options, owner: 'process-b' });
    expect(resultB, JSON.stringify(resultB.error)).toMatchObject({ status: 'complete' });
    resume();
    const resultA = await runA;
    expect(refusals).toEqual(['FENCED']); // A's late write landed nowhere
    expect(resultA, JSON.stringify(resultA.error)).toMatchObject({ status: 'complete' });
    expect(resultA.inserted + resultB.inserted).toBe(1000); // every key inserted once
    const ranges = await r.control.ranges('items', 'backfill');
    expect(ranges.reduce((sum, x) => sum + x.rows, 0)).toBe(1000); // A's stalled chunk was never counted
    expect(await r.newStore.getMany(Array.from({ length: 1000 }, (_, i) => i))).toEqual(
      await r.oldStore.getMany(Array.from({ length: 1000 }, (_, i) => i)),
    );
  });
});
