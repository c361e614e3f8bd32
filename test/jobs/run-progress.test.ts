import { describe, expect, it } from 'vitest';
import {
  defineMigration,
  memoryControlStore,
  memoryStore,
  type BackfillProgress,
  type RunProgress,
} from '../../src/index.js';
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

  it('the time left counts the rows inserted ahead of the copy while it runs: the source counted again, and the growth taken off the rate', async () => {
    // A scripted run: old starts with 10 000 rows and gains 100 rows/s ahead of the copy, which copies 1 000 rows/s.
    // It ends when 1 000 t = 10 000 + 100 t, at t = 11.1 s.
    let now = 0;
    const meter = new RunMeter(10_000, 0, () => now, { recountMs: 5000 });
    const sourceAt = (t: number): number => 10_000 + 100 * t;
    const truthMs = (t: number): number => Math.round((10_000 / 900 - t) * 1000);
    const seen = new Map<number, RunProgress>();
    for (let t = 1; t <= 10; t++) {
      now = t * 1000;
      await meter.recount(async () => Promise.resolve(sourceAt(t))); // due at 5 s and 10 s only
      seen.set(t, meter.at(1000 * t));
    }
    expect(seen.get(4)).toMatchObject({ total: 10_000, etaMs: 6000 }); // no recount yet: what the start said
    expect(seen.get(5)).toMatchObject({ total: 10_500, rowsPerSecond: 1000, etaMs: truthMs(5) }); // 5 500 left at 900/s
    expect(seen.get(8)).toMatchObject({ total: 10_800, etaMs: truthMs(8) }); // carried forward at 100 rows/s
    expect(meter.growthPerSecond).toBe(100);
    // Rows left at the average rate alone would have said 2 s at 8 s, against the 3.1 s it really took.
    expect(progressOf({ total: 10_000, rowsBefore: 0, rowsThisRun: 8000, elapsedMs: 8000 }).etaMs).toBe(2000);
  });

  it('the time left follows the rate of the run’s later half, not its average: a run that sped up is timed by what it does now', () => {
    let now = 0;
    const meter = new RunMeter(30_000, 0, () => now);
    let rows = 0;
    for (let t = 1; t <= 20; t++) {
      now = t * 1000;
      rows += t <= 10 ? 200 : 1000; // slow while the chunks grow (or the database is busy), fast after
      meter.at(rows);
    }
    now = 20_000;
    const p = meter.at(rows);
    expect(p).toMatchObject({ rowsDone: 12_000, rowsPerSecond: 600 }); // the average still says 600
    expect(p.etaMs).toBe(18_000); // 18 000 rows left at 1 000/s (the average would say 30 s)
  });

  it('no time left is shown while the source grows as fast as the run copies, or the run stands still', async () => {
    let now = 0;
    const meter = new RunMeter(1000, 0, () => now, { recountMs: 1000 });
    now = 1000;
    meter.at(500);
    await meter.recount(async () => Promise.resolve(1500)); // 500 rows/s more, as fast as the copy
    now = 2000;
    expect(meter.at(1000).etaMs).toBeUndefined();
    const still = new RunMeter(1000, 0, () => now);
    now = 3000;
    still.at(400);
    now = 9000;
    expect(still.at(400)).toMatchObject({ rowsPerSecond: 57, etaMs: undefined }); // nothing copied in the later half
  });

  it('counts the source at most every recountMs, spaced by what a count costs, one at a time; a failed count changes nothing', async () => {
    let now = 0;
    const meter = new RunMeter(1000, 0, () => now, { recountMs: 1000, recountSpacing: 40 });
    const counts: number[] = [];
    const slowCount = async (): Promise<number> => {
      counts.push(now);
      now += 500; // a count that takes half a second
      return Promise.resolve(1100);
    };
    await meter.recount(slowCount); // not due yet
    now = 1000;
    const both = Promise.all([meter.recount(slowCount), meter.recount(slowCount)]); // the second finds one running
    await both;
    expect(counts).toEqual([1000]);
    now = 15_000;
    await meter.recount(slowCount); // 40 × 500 ms after the last one ended: due at 21.5 s
    expect(counts).toEqual([1000]);
    now = 21_500;
    await meter.recount(async () => Promise.reject(new Error('connection lost')));
    expect(meter.at(0).total).toBe(1100 + Math.round((100 / 1.5) * 20)); // still the last count, carried forward
    now = 22_500;
    await meter.recount(slowCount); // after a failure, due again recountMs later
    expect(counts).toEqual([1000, 22_500]);
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
