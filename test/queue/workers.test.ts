import { describe, expect, it } from 'vitest';
import { leaseFenceName } from '../../src/core/fence-rules.js';
import { midair } from '../cli/cli-support.js';
import { availabilityOfAll } from '../support/backends.js';
import { killAndStall, queueFixtures, queueWorld, startFleet, waitFor, type WorkerProcess } from './queue-support.js';

const USERS = 20_000;
const available = availabilityOfAll('postgres', 'redis');

describe.skipIf(!available.run)(`distributed backfill over BullMQ workers${available.reason}`, () => {
  const { worlds, workers } = queueFixtures();

  it('three workers, one SIGKILLed mid-run and one SIGSTOPped past its lock: new equals old, every row counted once, the stopped one cannot write after its range changed hands', async () => {
    const world = await queueWorld(USERS, '{ chunkSize: 200, leaseMs: 1500 }');
    worlds.push(world);
    const { fleet: pool, queue, cli } = await startFleet(world, workers, 3, ['--lock-ms', '1000']);
    try {
      const [killed, stopped, survivor] = pool as [WorkerProcess, WorkerProcess, WorkerProcess];
      const coordinator = cli('backfill', ...queue, '--ranges', '16', '--max-rows-per-second', '2500', '--json');
      const ranges = async () => world.control.ranges('users', 'backfill');
      const held = await killAndStall(ranges, 3000, killed, stopped);
      const result = await coordinator;
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      // The bar, status and the dashboard read the same progress: the ranges' rows in the control store.
      expect(result.stderr).toMatch(/"progress":"backfill","rowsDone":20000,"total":20000,"percent":100/);
      expect(result.json()).toMatchObject({ status: 'complete', rowsRead: USERS });
      // The resumed worker found its range gone: its job ended as lost, and what it did not finish was not counted.
      const lost = await waitFor('the resumed worker to let its range go', async () =>
        Promise.resolve(stopped.events.find((e) => e.rangeId === held.rangeId && e.status === 'lost')),
      );
      expect(lost.run).toBe('backfill');
      const final = await ranges();
      expect(final.every((r) => r.complete)).toBe(true);
      expect(final.reduce((s, r) => s + r.rows, 0)).toBe(USERS); // every key counted once, over every holder
      // Each range's fence in new stands at its last holder's token: every earlier holder's writes are refused there.
      const fences = await world.pool.query<{ migration: string; epoch: string }>(
        `SELECT migration, epoch FROM ${world.ns}_new.users_midair_fences`,
      );
      const epochs = new Map(fences.rows.map((f) => [f.migration, Number(f.epoch)]));
      for (const r of final)
        expect(epochs.get(leaseFenceName('users', 'backfill', r.rangeId)), `range ${r.rangeId}`).toBe(r.token);
      expect(epochs.get(leaseFenceName('users', 'backfill', held.rangeId))).toBeGreaterThan(held.token);
      expect(survivor.events.some((e) => e.status === 'complete')).toBe(true);
      // SIGTERM: the two live workers stop cleanly.
      stopped.child.kill('SIGTERM');
      survivor.child.kill('SIGTERM');
      expect(await stopped.exited).toBe(0);
      expect(await survivor.exited).toBe(0);
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    expect(await world.compare()).toEqual({ differing: 0, old: USERS, new: USERS });
  }, 300_000); // three worker processes, the takeovers and the prune: minutes on a loaded two-core machine

  it('refuses a run, writing nothing, when the queue is not a queue URL or does not answer', async () => {
    const world = await queueWorld(100, '{ chunkSize: 50 }');
    worlds.push(world);
    const cli = async (...args: string[]) => midair(world.dir, args);
    expect((await cli('phase', 'advance', '--force', '--reason', 'test')).code).toBe(0);
    const before = (await cli('status', '--json')).json<Record<string, unknown>>();
    const wrongKind = await cli('backfill', '--queue', 'mysql://127.0.0.1:3306/test');
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.stderr).toMatch(
      /--queue: a queue URL is redis:\/\/, rediss:\/\/, postgres:\/\/ or postgresql:\/\//,
    );
    const silent = await cli('backfill', '--queue', 'redis://127.0.0.1:1', '--json');
    expect(silent.code).toBe(2);
    expect(silent.json()).toMatchObject({
      status: 'refused',
      rowsRead: 0,
      error: {
        code: 'CONNECTION',
        message: expect.stringMatching(/the queue at 127\.0\.0\.1:1 did not answer/) as unknown,
      },
    });
    expect(await world.control.ranges('users', 'backfill')).toEqual([]); // nothing split, nothing queued
    expect((await cli('status', '--json')).json()).toEqual(before);
    expect((await world.compare()).new).toBe(0);
  });
});
