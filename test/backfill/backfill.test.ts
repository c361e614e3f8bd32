import { describe, expect, it } from 'vitest';
import { MidairError } from '../../src/index.js';
import { item, rig, type Item } from '../migration/setup.js';

async function fill(store: { writeIfNewer(e: Item[]): Promise<unknown> }, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i += 500)
    await store.writeIfNewer(
      Array.from({ length: Math.min(500, from + n - i) }, (_, j) => item(i + j, 1, `old ${i + j}`)),
    );
}

async function all(store: { scan(o: { chunkSize: number }): AsyncIterable<Item[]> }): Promise<Map<number, Item>> {
  const m = new Map<number, Item>();
  for await (const chunk of store.scan({ chunkSize: 1000 })) for (const e of chunk) m.set(e.id, e);
  return m;
}

describe('backfill', () => {
  it('refuses to start before dual-write, with a result that says why', async () => {
    const r = await rig();
    const result = await r.migration.backfill();
    expect(result).toMatchObject({ status: 'refused', rowsRead: 0, error: { code: 'INVALID_ARGUMENT' } });
    expect(result.error?.message).toContain('runs from dual-write on');
  });

  it('copies every row, reports progress, and a second run does nothing (idempotent)', async () => {
    const r = await rig();
    await fill(r.oldStore, 2345);
    await r.goTo('dual-write');
    const progress: number[] = [];
    const result = await r.migration.backfill({ chunkSize: 200, onProgress: (p) => progress.push(p.rowsDone) });
    expect(result).toMatchObject({ status: 'complete', rowsRead: 2345, inserted: 2345, deadLetters: 0 });
    expect(progress.at(-1)).toBe(2345);
    expect(await all(r.newStore)).toEqual(await all(r.oldStore));
    expect(await r.migration.backfill()).toMatchObject({ status: 'complete', rowsRead: 0 });
    // A restart syncs every row again (rewriting what is already equal); the conditional mode skips them.
    expect(await r.migration.backfill({ restart: true })).toMatchObject({
      status: 'complete',
      rowsRead: 2345,
      inserted: 0,
      updated: 2345,
    });
    expect(await r.migration.backfill({ restart: true, mode: 'conditional' })).toMatchObject({
      status: 'complete',
      rowsRead: 2345,
      inserted: 0,
      skippedExisting: 2345,
    });
    expect(await all(r.newStore)).toEqual(await all(r.oldStore));
  });

  it('regression: overwrites a row new got from a neighbour still one phase behind (an insert-only copy left it stale)', async () => {
    const r = await rig();
    await fill(r.oldStore, 10);
    await r.goTo('dual-write');
    // As it happens when one instance has already synced a value and another, still in old-only, then wrote old alone:
    await r.newStore.put(item(3, 1, 'synced earlier'));
    await r.oldStore.put(item(3, 1, 'written later, old only'));
    expect(await r.migration.backfill()).toMatchObject({ status: 'complete', inserted: 9, updated: 1 });
    expect(await r.newStore.get(3)).toEqual(item(3, 1, 'written later, old only'));
  });

  it('converges beside live updates and deletes of the same keys', async () => {
    const r = await rig();
    await fill(r.oldStore, 3000);
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    let running = true;
    const live = (async () => {
      for (let n = 0; running; n++) {
        const id = Math.floor(Math.random() * 3000);
        if (n % 5 === 0) await repo.delete(id);
        else await repo.put(item(id, 2 + n, `live ${n}`));
      }
    })();
    const result = await r.migration.backfill({ chunkSize: 50, targetChunkMs: 0 });
    running = false;
    await live;
    await r.migration.settle();
    await r.migration.drainRepairs();
    expect(result.status).toBe('complete');
    expect(await all(r.newStore)).toEqual(await all(r.oldStore));
  });

  it('regression: a backfill whose fences could not be raised threw instead of returning a failed run', async () => {
    const r = await rig();
    await fill(r.oldStore, 10);
    await r.goTo('dual-write');
    r.oldFaults.down = true;
    const result = await r.migration.backfill();
    r.oldFaults.down = false;
    expect(result).toMatchObject({ status: 'failed', rowsRead: 0, inserted: 0 });
    expect(result.error?.message).toContain('could not raise the fence of the old store');
    expect(await r.newStore.count()).toBe(0);
    expect(await r.migration.backfill()).toMatchObject({ status: 'complete', inserted: 10 });
  });

  it('killed at random points and started again, it resumes after its checkpoint: no gap, no duplicate', async () => {
    const r = await rig();
    await fill(r.oldStore, 2000);
    await r.goTo('dual-write');
    let runs = 0;
    let resumed = 0;
    for (;;) {
      runs++;
      // A crash: every store call has a small chance to fail, ending the run wherever it is.
      r.oldFaults.errorRate = 0.02;
      r.newFaults.lateErrorRate = 0.02; // some crashes land after the chunk was written
      // The first runs are also killed outright after a random number of chunks.
      const kill = new AbortController();
      const killAt = runs <= 3 ? 1 + Math.floor(Math.random() * 8) : 0;
      let chunks = 0;
      const result = await r.migration.backfill({
        chunkSize: 100,
        targetChunkMs: 0,
        signal: kill.signal,
        onProgress: () => {
          if (++chunks === killAt) kill.abort();
        },
      });
      r.oldFaults.errorRate = 0;
      r.newFaults.lateErrorRate = 0;
      if (result.resumedAfter !== undefined) resumed++;
      if (result.status === 'complete') break;
      expect(['failed', 'aborted']).toContain(result.status);
      expect(runs).toBeLessThan(200);
    }
    expect(resumed).toBeGreaterThan(0);
    expect(await r.newStore.count()).toBe(2000);
    expect(await all(r.newStore)).toEqual(await all(r.oldStore));
  });

  it('sends rows whose transform throws to the dead letters (key and code only), copies the rest, and retries them after a fix', async () => {
    const r = await rig();
    await fill(r.oldStore, 100);
    await r.goTo('dual-write');
    const broken = (e: Item): Item => {
      if (e.id % 7 === 0) throw new Error(`cannot handle ${e.v}`);
      return { ...e, v: e.v.toUpperCase() };
    };
    const result = await r.migration.backfill({ transform: broken, chunkSize: 30 });
    expect(result).toMatchObject({
      status: 'complete-with-dead-letters',
      rowsRead: 100,
      inserted: 85,
      deadLetters: 15,
      deadLettersPending: 15,
    });
    const letters = await r.control.deadLetters('items', 100);
    expect(letters.map((d) => d.keyId)).toContain('n7');
    expect(letters.every((d) => d.reason === 'TRANSFORM')).toBe(true);
    expect(JSON.stringify(letters)).not.toContain('old 7'); // no row values
    expect(await r.newStore.get(7)).toBeUndefined();
    const retry = await r.migration.retryDeadLetters({ transform: (e) => ({ ...e, v: e.v.toUpperCase() }) });
    expect(retry).toEqual({ retried: 15, copied: 15, stillFailing: 0 });
    expect(await r.newStore.get(7)).toEqual(item(7, 1, 'OLD 7'));
    expect(await r.control.deadLetterCount('items')).toBe(0);
  });

  it('stops at the first failing row when asked to', async () => {
    const r = await rig();
    await fill(r.oldStore, 50);
    await r.goTo('dual-write');
    const result = await r.migration.backfill({
      chunkSize: 10,
      targetChunkMs: 0,
      onRowError: 'stop',
      transform: (e) =>
        e.id === 23
          ? (() => {
              throw new MidairError('ENCODING', 'x');
            })()
          : e,
    });
    expect(result.status).toBe('stopped');
    expect(result.error?.message).toContain('key n23');
    expect(await r.newStore.get(23)).toBeUndefined();
    expect(await r.newStore.get(30)).toBeUndefined(); // nothing after its chunk
    expect(await r.newStore.count()).toBe(29); // the chunks before it, and its chunk but for the failing row
  });

  it('a sweep copies only keys new does not have, and works in old-read-only', async () => {
    const r = await rig();
    await fill(r.oldStore, 40);
    await r.goTo('old-read-only');
    await r.newStore.put(item(3, 9, 'newer in new'));
    await r.newStore.delete(4); // deleted in new: stays deleted
    const result = await r.migration.sweep({ chunkSize: 15 });
    expect(result).toMatchObject({ status: 'complete', rowsRead: 40, inserted: 38 });
    expect(await r.newStore.get(3)).toEqual(item(3, 9, 'newer in new'));
    expect(await r.newStore.get(4)).toBeUndefined();
    expect(await r.newStore.get(5)).toEqual(item(5, 1, 'old 5'));
  });

  it('regression: where new is authoritative, a sweep never copies over a tombstone, whatever the versions (a key re-created at a lower version and deleted again came back)', async () => {
    const r = await rig();
    await fill(r.oldStore, 10);
    await r.oldStore.put(item(4, 5, 'stale in old')); // old stopped getting writes at version 5
    await r.goTo('old-read-only');
    await r.newStore.put(item(4, 2, 're-created in new')); // an application whose versions restart after a delete
    await r.newStore.delete(4); // …then deleted again: the tombstone says version 2
    const result = await r.migration.sweep({ chunkSize: 5 });
    expect(result).toMatchObject({ status: 'complete', inserted: 9 });
    expect(await r.newStore.get(4)).toBeUndefined();
  });

  it('pauses and resumes through the control store while running', async () => {
    const r = await rig();
    await fill(r.oldStore, 300);
    await r.goTo('dual-write');
    await r.migration.controlBackfill({ paused: true });
    const run = r.migration.backfill({ chunkSize: 100 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await r.newStore.count()).toBe(0);
    await r.migration.controlBackfill({ paused: false, maxRowsPerSecond: 100_000 });
    expect(await run).toMatchObject({ status: 'complete', inserted: 300 });
  });

  it('stops when aborted, and resumes later', async () => {
    const r = await rig();
    await fill(r.oldStore, 500);
    await r.goTo('dual-write');
    const controller = new AbortController();
    const first = await r.migration.backfill({
      chunkSize: 100,
      targetChunkMs: 0,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.rowsDone >= 200) controller.abort();
      },
    });
    expect(first).toMatchObject({ status: 'aborted', rowsRead: 200 });
    const second = await r.migration.backfill({ chunkSize: 100 });
    expect(second).toMatchObject({ status: 'complete', rowsRead: 300, resumedAfter: 'n199' });
  });
});
