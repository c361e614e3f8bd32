import { describe, expect, it } from 'vitest';
import { keyId } from '../../src/index.js';
import { midair } from '../cli/cli-support.js';
import { availabilityOfAll } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { killAndStall, queueFixtures, queueWorld, startFleet, waitFor, type WorkerProcess } from './queue-support.js';

const USERS = 20_000;
const available = availabilityOfAll('postgres', 'redis');

describe.skipIf(!available.run)(`distributed verification over BullMQ workers${available.reason}`, () => {
  const { worlds, workers } = queueFixtures();

  it('three workers, one SIGKILLed mid-pass and one SIGSTOPped past its lock, find the planted differences at their exact keys and fields, every row compared once', async () => {
    const world = await queueWorld(USERS, '{ chunkSize: 500 }', '{ segmentRows: 256, leaseMs: 1500 }');
    worlds.push(world);
    const { ns, pool } = world;
    // New holds old's users, but for four planted differences.
    await pool.query(`INSERT INTO ${ns}_new.users SELECT id, email FROM ${ns}.users`);
    await pool.query(`INSERT INTO ${ns}_new.user_profiles SELECT id, name FROM ${ns}.users`);
    await pool.query(`UPDATE ${ns}_new.users SET email = 'changed@example.com' WHERE id = 777`);
    await pool.query(`UPDATE ${ns}_new.user_profiles SET full_name = 'changed' WHERE user_id = 12345`);
    await pool.query(`DELETE FROM ${ns}_new.user_profiles WHERE user_id = 15000`);
    await pool.query(`DELETE FROM ${ns}_new.users WHERE id = 15000`);
    await pool.query(`INSERT INTO ${ns}_new.users VALUES (30000, 'stray@example.com')`);
    await pool.query(`INSERT INTO ${ns}_new.user_profiles VALUES (30000, 'stray')`);
    const { fleet, queue, cli } = await startFleet(world, workers, 3, ['--lock-ms', '1000']);
    try {
      const [killed, stopped, survivor] = fleet as [WorkerProcess, WorkerProcess, WorkerProcess];
      const coordinator = cli('verify', ...queue, '--ranges', '16', '--max-rows-per-second', '4000', '--json');
      const ranges = async () => world.control.ranges('users', 'verify');
      const held = await killAndStall(ranges, 3000, killed, stopped);
      const result = await coordinator;
      expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(1); // different
      expect(result.stderr).toMatch(/"progress":"verify","rowsDone":20000,"total":20000,"percent":100/);
      expect(result.json()).toMatchObject({
        mode: 'full',
        status: 'different',
        matched: USERS - 3,
        missing: { total: 1, keys: [keyId(15000n)] },
        extra: { total: 1, keys: [keyId(30000n)] },
        different: {
          total: 2,
          keys: [
            { keyId: keyId(777n), fields: ['email'] },
            { keyId: keyId(12345n), fields: ['name'] },
          ],
        },
      });
      const lost = await waitFor('the resumed worker to let its range go', async () =>
        Promise.resolve(stopped.events.find((e) => e.rangeId === held.rangeId && e.status === 'lost')),
      );
      expect(lost.kind).toBe('verify');
      const final = await ranges();
      expect(final.every((r) => r.complete)).toBe(true);
      expect(final.reduce((s, r) => s + r.rows, 0)).toBe(USERS); // every row compared once, over every holder
      expect(survivor.events.some((e) => e.kind === 'verify' && e.status === 'complete')).toBe(true);
      stopped.child.kill('SIGTERM');
      survivor.child.kill('SIGTERM');
      expect(await stopped.exited).toBe(0);
      expect(await survivor.exited).toBe(0);
    } finally {
      for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    }
    // `status` reads the outcome the gates read: the differences, counted.
    expect((await cli('status', '--json')).json()).toMatchObject({
      lastVerification: { status: 'different', mode: 'full', missing: 1, extra: 1, different: 2 },
    });
  }, 300_000);

  it('refuses a queued verification, writing nothing, for a mode other than full or a queue that does not answer', async () => {
    const world = await queueWorld(100, '{ chunkSize: 50 }');
    worlds.push(world);
    const cli = async (...args: string[]) => midair(world.dir, args);
    expect((await cli('phase', 'advance', '--force', '--reason', 'test')).code).toBe(0);
    const before = (await cli('status', '--json')).json<Record<string, unknown>>();
    const sample = await cli('verify', '--mode', 'sample', '--queue', SERVICE_URLS.redis);
    expect(sample.code).toBe(2);
    expect(sample.stderr).toMatch(/--queue spreads a full pass over workers; --mode sample runs in this process/);
    const silent = await cli('verify', '--queue', 'redis://127.0.0.1:1');
    expect(silent.code).toBe(2);
    expect(silent.stderr).toMatch(/the queue at 127\.0\.0\.1:1 did not answer/);
    expect(await world.control.ranges('users', 'verify')).toEqual([]); // nothing split, nothing queued
    expect((await cli('status', '--json')).json()).toEqual(before);
  });
});
