import { describe, expect, it } from 'vitest';
import { defineMigration, memoryControlStore, memoryStore, type BackfillProgress } from '../../src/index.js';
import { progressOf, RunMeter } from '../../src/jobs/run-progress.js';
import { item, rig, type Item } from '../migration/setup.js';
import { simulate } from '../support/sim-clock.js';

async function fill(store: { writeIfNewer(e: Item[]): Promise<unknown> }, n: number): Promise<void> {
  await store.writeIfNewer(Array.from({ length: n }, (_, i) => item(i + 1, 1, `old ${i + 1}`)));
}

const percent = (p: BackfillProgress): number => Math.floor((p.rowsDone * 100) / p.total);

describe('adoption 9: honest output — progress that does not mislead', () => {
  it('the rate is this run’s rows over this run’s time; a resumed run starts from the rows done before', () => {
    expect(progressOf({ total: 10_000, rowsBefore: 4000, rowsThisRun: 800, elapsedMs: 2000 })).toEqual({
      rowsDone: 4800,
      total: 10_000,
      rowsPerSecond: 400, // not (4000 + 800) / 2 s
      etaMs: 13_000,
    });
    expect(progressOf({ total: 100, rowsBefore: 0, rowsThisRun: 0, elapsedMs: 0 })).toMatchObject({
      rowsPerSecond: 0,
      etaMs: undefined,
    });
    // Old grew under live inserts: the total follows, the share never passes 100 %.
    expect(progressOf({ total: 100, rowsBefore: 90, rowsThisRun: 20, elapsedMs: 1000 })).toMatchObject({
      rowsDone: 110,
      total: 110,
    });
  });

  it('a meter runs on its own clock from the run’s start, and its end is 100 % whatever the count said', () => {
    let now = 5000;
    const meter = new RunMeter(1000, 300, () => now);
    now += 500;
    expect(meter.at(200)).toEqual({ rowsDone: 500, total: 1000, rowsPerSecond: 400, etaMs: 1250 });
    now += 500;
    expect(meter.done(390)).toEqual({ rowsDone: 690, total: 690, rowsPerSecond: 390, etaMs: 0 }); // rows were deleted meanwhile
  });

  it('regression: a parallel backfill’s last report is 100 % (it stopped at 75 %: short last chunks went unreported)', async () => {
    const r = await rig();
    await fill(r.oldStore, 1000);
    await r.goTo('dual-write');
    const seen: BackfillProgress[] = [];
    const result = await r.migration.backfill({ workers: 4, ranges: 16, onProgress: (p) => seen.push(p) });
    expect(result).toMatchObject({ status: 'complete', rowsRead: 1000 });
    expect(seen[0]).toMatchObject({ rowsDone: 0, total: 1000 });
    expect(seen.at(-1)).toMatchObject({ rowsDone: 1000, total: 1000, etaMs: 0 });
    expect(seen.map(percent)).toEqual([...seen.map(percent)].sort((a, b) => a - b)); // never goes back
  });

  for (const workers of [1, 3]) {
    it(`regression: resumed with ${workers} worker(s), the progress starts from the rows the killed run copied, and no lease of it is waited out`, async () => {
      const r = await rig();
      await fill(r.oldStore, 1200);
      await r.goTo('dual-write');
      const kill = new AbortController();
      let reports = 0;
      const options = { workers, chunkSize: 50, targetChunkMs: 0 };
      const first = await r.migration.backfill({
        ...options,
        signal: kill.signal,
        onProgress: () => {
          if (++reports === 8) kill.abort();
        },
      });
      expect(first.status).toBe('aborted');
      expect(first.rowsRead).toBeGreaterThan(0);
      // Its workers handed their leases back, those cut short mid-chunk too: the resumed run waits for none.
      const now = Date.now();
      expect((await r.control.ranges('items', 'backfill')).filter((x) => x.leasedUntil.getTime() > now)).toEqual([]);
      const seen: BackfillProgress[] = [];
      const second = await r.migration.backfill({ ...options, onProgress: (p) => seen.push(p) });
      expect(second.status).toBe('complete');
      expect(first.inserted + second.inserted).toBe(1200);
      expect(seen[0]).toMatchObject({ rowsDone: first.rowsRead, total: 1200 });
      expect(seen.at(-1)).toMatchObject({ rowsDone: 1200, total: 1200 });
    });
  }

  it('regression: the rate shown for 4 workers at 400 rows/s is about 400 (it showed 2 984–5 657)', async () => {
    const rows = 1500;
    const outcome = await simulate(21, async () => {
      const old = memoryStore<number, Item>({ name: 'old', key: 'id', version: 'version' });
      await fill(old, rows);
      const m = defineMigration<number, Item>({
        name: 'items',
        old,
        new: memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' }),
        control: memoryControlStore(),
        pollMs: 10,
        repair: { enabled: false },
      });
      await m.start();
      await m.advance({ reason: 'test: dual writes' });
      const seen: BackfillProgress[] = [];
      await m.backfill({ workers: 4, ranges: 16, maxRowsPerSecond: 400, onProgress: (p) => seen.push(p) });
      await m.close();
      return seen;
    });
    expect(outcome.settled).toBe(true);
    if (!outcome.settled) return;
    const last = outcome.value.at(-1) as BackfillProgress;
    expect(last).toMatchObject({ rowsDone: rows, total: rows });
    // rows / (time ≥ (rows − burst) / 400 rows/s): at most 400 × rows / (rows − burst)
    expect(last.rowsPerSecond).toBeLessThanOrEqual(Math.ceil((400 * rows) / (rows - 100)));
  });
});
