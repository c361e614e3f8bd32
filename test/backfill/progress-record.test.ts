import { describe, expect, it } from 'vitest';
import { ProgressRecord } from '../../src/backfill/progress-record.js';
import type { BackfillProgress } from '../../src/backfill/backfill-options.js';
import { CHECKPOINTS, loadCheckpoint } from '../../src/control/checkpoints.js';
import { memoryControlStore, type ControlStore } from '../../src/index.js';
import { tick } from '../migration/setup.js';

const progress = (rowsDone: number, total = 1000): BackfillProgress => ({
  rowsDone,
  total,
  rowsPerSecond: 200,
  etaMs: ((total - rowsDone) * 1000) / 200,
  chunkSize: 100,
  waitedMs: {},
});

/** A control store that counts the checkpoints saved under `name`. */
function counted(control: ControlStore, name: string): { control: ControlStore; saves: () => number } {
  let saves = 0;
  return {
    saves: () => saves,
    control: new Proxy(control, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => unknown).bind(target);
        return prop === 'saveCheckpoint'
          ? (...args: unknown[]) => {
              if (args[1] === name) saves++;
              return fn(...args);
            }
          : fn;
      },
    }),
  };
}

describe('a backfill run’s progress record', () => {
  it('saves the first report at once, then at most once a second, and the last one as ended', async () => {
    const { control, saves } = counted(memoryControlStore(), 'backfill:progress');
    let now = 10_000;
    const record = new ProgressRecord(control, 'items', 'backfill', 3, () => now);
    const read = async () => loadCheckpoint(control, 'items', CHECKPOINTS.backfillProgress('backfill'));
    record.note(progress(100));
    await tick();
    expect(await read()).toMatchObject({ rowsDone: 100, total: 1000, rowsPerSecond: 200, etaMs: 4500, active: true });
    now += 999;
    record.note(progress(200));
    await tick();
    expect(saves()).toBe(1);
    now += 1;
    record.note(progress(300));
    await tick();
    expect(saves()).toBe(2);
    expect(await read()).toMatchObject({ rowsDone: 300, phaseVersion: 3 });
    record.note(progress(1000, 1000));
    await record.end('complete');
    const last = await read();
    expect(last).toMatchObject({ rowsDone: 1000, total: 1000, rowsPerSecond: 0, active: false, status: 'complete' });
    expect(last?.etaMs).toBeUndefined();
  });

  it('a run that never reported (refused, or complete before) saves nothing', async () => {
    const { control, saves } = counted(memoryControlStore(), 'backfill:progress');
    await new ProgressRecord(control, 'items', 'backfill', 1).end('refused');
    expect(saves()).toBe(0);
  });

  it('a save that fails is dropped, and the run goes on', async () => {
    const control = new Proxy(memoryControlStore(), {
      get(target, prop, receiver) {
        if (prop === 'saveCheckpoint') return () => Promise.reject(new Error('control store down'));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const record = new ProgressRecord(control, 'items', 'backfill', 1);
    record.note(progress(10));
    await expect(record.end('failed')).resolves.toBeUndefined();
  });
});
