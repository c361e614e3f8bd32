import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RangeLease } from '../../src/control/range-leases.js';
import { availabilityOfAll } from '../support/backends.js';
import { queueFixtures, queueWorld, startFleet, waitFor } from './queue-support.js';

const USERS = 30_000;
const CHUNK = 100;
/** Two worker processes, two jobs at once in each. */
const HOLDERS = 4;
const available = availabilityOfAll('postgres', 'redis');

const rowsOf = (ranges: readonly RangeLease[]): number => ranges.reduce((s, r) => s + r.rows, 0);

describe.skipIf(!available.run)(`steering a queued backfill across its workers${available.reason}`, () => {
  const { worlds, workers } = queueFixtures();

  it('regression: with --concurrency 2 each job took its whole process’s share of the rows/s ceiling — the ceiling is one budget over every job, and rate, pause and resume reach every worker', async () => {
    const world = await queueWorld(USERS, `{ chunkSize: ${CHUNK}, leaseMs: 1500 }`);
    worlds.push(world);
    const ranges = async () => world.control.ranges('users', 'backfill');
    /** Resolves once every range held at the call has been renewed since (or finished, or changed hands). */
    const renewedRound = async (): Promise<void> => {
      const held = (await ranges()).filter((r) => !r.complete && r.leasedUntil.getTime() > Date.now());
      await waitFor('every held range renewed', async () => {
        const now = await ranges();
        return held.every((h) => {
          const r = now.find((x) => x.rangeId === h.rangeId);
          return !r || r.complete || r.token !== h.token || r.leasedUntil > h.leasedUntil;
        });
      });
    };
    /** Rows copied over a window of about `ms`, and its length in seconds (measured). */
    const window = async (ms: number): Promise<{ rows: number; seconds: number }> => {
      const [a, t0] = [rowsOf(await ranges()), Date.now()];
      await sleep(ms);
      const [b, t1] = [rowsOf(await ranges()), Date.now()];
      return { rows: b - a, seconds: (t1 - t0) / 1000 };
    };
    // The ceiling holds over any window: its rate, a quarter second of burst, and each holder's chunk counted late.
    const bound = (rate: number, seconds: number): number => 1.25 * rate * seconds + HOLDERS * CHUNK;
    const { fleet, queue, cli } = await startFleet(world, workers, 2, ['--concurrency', '2']);
    try {
      const coordinator = cli('backfill', ...queue, '--ranges', '16', '--max-rows-per-second', '2000', '--json');
      await waitFor('every job running', async () => {
        const now = await ranges();
        return (
          rowsOf(now) >= 1000 &&
          now.filter((r) => !r.complete && r.leasedUntil.getTime() > Date.now()).length >= HOLDERS
        );
      });
      const fast = await window(4000);
      expect(fast.rows).toBeLessThanOrEqual(bound(2000, fast.seconds));

      expect((await cli('backfill', 'rate', '600')).code).toBe(0);
      await renewedRound(); // every holder has taken the new ceiling by its next chunk
      await renewedRound();
      const slow = await window(4000);
      expect(slow.rows).toBeLessThanOrEqual(bound(600, slow.seconds));

      expect((await cli('backfill', 'pause')).code).toBe(0);
      await renewedRound(); // a chunk in flight at the pause ends with this renewal; the next step sees the pause
      const paused = rowsOf(await ranges());
      await renewedRound(); // the holders renew their leases while paused, and copy nothing
      await renewedRound();
      expect(rowsOf(await ranges())).toBe(paused);
      expect(paused).toBeLessThan(USERS);

      expect((await cli('backfill', 'rate', '20000')).code).toBe(0);
      expect((await cli('backfill', 'resume')).code).toBe(0);
      const result = await coordinator;
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
      expect(result.json()).toMatchObject({ status: 'complete', rowsRead: USERS });
      expect(rowsOf(await ranges())).toBe(USERS);
      for (const w of fleet) w.child.kill('SIGTERM');
      for (const w of fleet) expect(await w.exited).toBe(0);
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    expect(await world.compare()).toEqual({ differing: 0, old: USERS, new: USERS });
  }, 300_000);
});
