import { describe, expect, it } from 'vitest';
import { item, rig } from '../migration/setup.js';

describe('the backfill reads old ahead', () => {
  it("the next chunk's read of old starts while this chunk is written, and every key arrives once", async () => {
    const r = await rig();
    for (let i = 0; i < 100; i++) await r.oldStore.put(item(i, 1, `old ${i}`));
    await r.goTo('dual-write');
    const trace: string[] = [];
    const scan = r.oldStore.scan.bind(r.oldStore);
    r.oldStore.scan = (options) => {
      trace.push(`read after ${String(options?.after ?? '-')}`);
      return scan(options);
    };
    const syncMany = r.newStore.syncMany.bind(r.newStore);
    r.newStore.syncMany = async (keys, read, options) => {
      trace.push(`sync ${String(keys[0])}`);
      const done = await syncMany(keys, read, options);
      trace.push(`synced ${String(keys[0])}`);
      return done;
    };
    const result = await r.migration.backfill({ chunkSize: 10, targetChunkMs: 0 });
    expect(result).toMatchObject({ status: 'complete', inserted: 100 });
    // The read after key 9 started before the chunk 0–9 was written.
    expect(trace.indexOf('read after 9')).toBeGreaterThan(-1);
    expect(trace.indexOf('read after 9')).toBeLessThan(trace.indexOf('synced 0'));
    for (let i = 0; i < 100; i++) expect(await r.newStore.get(i)).toEqual(item(i, 1, `old ${i}`));
  });
});
