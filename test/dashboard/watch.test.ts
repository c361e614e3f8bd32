import { afterEach, describe, expect, it } from 'vitest';
import { verify } from '../../src/cli/commands/work.js';
import { recordBackfillRun } from '../../src/control/backfill-runs.js';
import { CHECKPOINTS, saveCheckpoint } from '../../src/control/checkpoints.js';
import type { FeedEventName } from '../../src/dashboard/api-types.js';
import { Ring } from '../../src/dashboard/ring.js';
import { MigrationWatch } from '../../src/dashboard/watch.js';
import { openedMigration, type Opened } from './live.js';

// The sampler on a controllable clock: its history, the backfill's rate and time left, and the events of each read.
const open: Opened[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function opened(rows?: number): Promise<Opened> {
  const o = await openedMigration(rows);
  open.push(o);
  await o.ctx.prepareWrites({ stores: false }); // the migration's state, as a first command makes it
  return o;
}

/** A clock the test moves. */
function clock(start = 1_000_000): { now: () => number; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, set: (ms) => (t = start + ms) };
}

describe('the dashboard’s sampler', () => {
  it('keeps a bounded history: the newest samples, oldest first', async () => {
    const ring = new Ring<number>(3);
    for (const n of [1, 2, 3, 4, 5]) ring.push(n);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(() => new Ring(0)).toThrow(/at least 1/);
    const o = await opened();
    const c = clock();
    const watch = new MigrationWatch(o.ctx, { history: 3, now: c.now });
    for (let i = 0; i < 5; i++) {
      c.set(i * 1000);
      await watch.tick();
    }
    expect(watch.samples().map((s) => s.at)).toEqual([1_002_000, 1_003_000, 1_004_000]);
    expect(watch.samples()[2]).toMatchObject({ phase: 'old-only', version: 1, comparisons: 0, mismatchRate: 0 });
  });

  it('the backfill’s rows, rate and time left come from its checkpoint as it moves, on the meter the run itself uses', async () => {
    const o = await opened(1000);
    const c = clock();
    const watch = new MigrationWatch(o.ctx, { now: c.now });
    await recordBackfillRun(o.control, 'users', 'backfill', {
      complete: false,
      at: new Date().toISOString(),
      phaseVersion: 1,
    });
    const copied = async (at: number, rowsDone: number): Promise<void> => {
      c.set(at);
      await saveCheckpoint(o.control, 'users', CHECKPOINTS.backfillRun('backfill'), {
        pass: 'copy',
        complete: false,
        phaseVersion: 1,
        rowsDone,
      });
      await watch.tick();
    };
    await copied(0, 100);
    expect(watch.view?.backfill).toMatchObject({
      started: true,
      complete: false,
      rowsDone: 100,
      total: 1000,
      rowsPerSecond: null,
      etaMs: null,
    });
    await copied(1000, 200);
    expect(watch.view?.backfill).toMatchObject({ rowsDone: 200, total: 1000, rowsPerSecond: 100, etaMs: 8000 });
    await copied(2000, 300);
    expect(watch.view?.backfill).toMatchObject({ rowsDone: 300, total: 1000, rowsPerSecond: 100, etaMs: 7000 });
    expect(watch.samples().map((s) => s.backfillRowsPerSecond)).toEqual([null, 100, 100]);
    // Steered through the control store (as `midair backfill pause` and `rate` do): the view says so.
    await o.ctx.migration.controlBackfill({ paused: true, maxRowsPerSecond: 250 });
    await watch.tick();
    expect(watch.view?.backfill).toMatchObject({ paused: true, maxRowsPerSecond: 250 });
    await saveCheckpoint(o.control, 'users', CHECKPOINTS.backfillRun('backfill'), {
      complete: true,
      phaseVersion: 1,
      rowsDone: 1000,
    });
    await recordBackfillRun(o.control, 'users', 'backfill', {
      complete: true,
      at: new Date().toISOString(),
      phaseVersion: 1,
    });
    await watch.tick();
    expect(watch.view?.backfill).toMatchObject({ complete: true, rowsDone: 1000, total: 1000, etaMs: 0 });
  });

  it('each read is a sample; a change of phase, audit log or gates is an event of its own', async () => {
    const o = await opened();
    const watch = new MigrationWatch(o.ctx);
    const heard: FeedEventName[] = [];
    watch.subscribe((name) => heard.push(name));
    await watch.tick();
    expect(heard).toEqual(['phase', 'gates', 'sample']); // the first read: everything is new
    heard.length = 0;
    await watch.tick();
    expect(heard).toEqual(['sample']);
    heard.length = 0;
    await o.ctx.migration.advance({ reason: 'test', force: true });
    await watch.tick();
    expect(heard).toEqual(['phase', 'audit', 'gates', 'sample']);
    expect(watch.view).toMatchObject({ phase: 'dual-write', next: 'shadow-read' });
  });

  it('the last verification lists its differing keys: key ids and field names, never a value', async () => {
    const o = await opened(); // users 1–5 in old, new empty
    await o.newStore.put({ id: 2n, email: 'u2@example.com', name: 'someone else' });
    await o.newStore.put({ id: 9n, email: 'u9@example.com', name: 'only in new' });
    const report = await verify(o.ctx, { mode: 'full' }); // the command's own function
    expect(report.status).toBe('different');
    const watch = new MigrationWatch(o.ctx);
    await watch.tick();
    expect(watch.view?.verification).toMatchObject({
      mode: 'full',
      status: 'different',
      missing: 4,
      extra: 1,
      different: 1,
      keys: { missing: ['n1', 'n3', 'n4', 'n5'], extra: ['n9'], different: [{ keyId: 'n2', fields: ['name'] }] },
    });
    const shown = JSON.stringify(watch.view);
    for (const value of ['someone else', 'only in new', 'user 2', 'u9@example.com']) expect(shown).not.toContain(value);
  });

  it('a read that fails keeps the last view, says why, and is an event', async () => {
    const o = await opened();
    const watch = new MigrationWatch(o.ctx);
    await watch.tick();
    const failures: unknown[] = [];
    watch.subscribe((name, data) => {
      if (name === 'failure') failures.push(data);
    });
    await o.close(); // the control store goes away
    await watch.tick();
    expect(watch.view).toMatchObject({ phase: 'old-only', error: { code: expect.any(String) as string } });
    expect(failures).toHaveLength(1);
    expect(watch.samples()).toHaveLength(1); // no sample from a read that failed
  });
});
