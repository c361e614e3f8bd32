import { describe, expect, it } from 'vitest';
import {
  memoryControlStore,
  memoryStore,
  MidairError,
  type GateThresholds,
  type Store,
  type StoreCall,
} from '../../src/index.js';
import { simulate } from '../support/sim-clock.js';
import { capacityRun, slowed, type Delays } from './capacity-support.js';

/** The other gates filled quickly, the capacity gate with its default factor (2) and error bound (0.1 %). */
const THRESHOLDS: GateThresholds = { minComparisons: 50, maxMismatchRate: 0.01, minCapacityCalls: 200 };

describe('the capacity gate on real traffic (memory stores, simulated clock)', () => {
  it('blocks the advance into ramp while new is slower than 2× old, writing nothing, and passes once it is not', async () => {
    const outcome = await simulate(41, async () => {
      // Every call on old takes 2 ms; new's take 10 ms (a new store five times slower), later 3 ms (1.5×).
      const delays: Delays = { old: 2, new: 10 };
      const run = await capacityRun(memoryControlStore(), delays, THRESHOLDS);
      try {
        await run.toShadowRead();
        await run.traffic(800);
        const gates = await run.migration.gates('ramp', THRESHOLDS);
        expect(gates.filter((g) => !g.ok).map((g) => g.gate)).toEqual(['capacity']);
        const capacity = gates.find((g) => g.gate === 'capacity');
        expect(capacity?.detail).toMatch(
          /^new is slower than the limit: new p99 10\.\d ms vs old 2\.\d\d ms \(4\.\d\d×, limit 2\.0×\)/,
        );
        // The figures the gate read: the fleet's, from the heartbeat.
        const facts = await run.migration.facts();
        expect(facts.capacity?.new.p99Ms).toBeGreaterThanOrEqual(10);
        expect(facts.capacity?.new.p99Ms).toBeLessThan(10.5);
        expect(facts.capacity?.old.p99Ms).toBeLessThan(2.1);

        // Refused, and nothing written: the same state, the same audit log.
        const before = { state: await run.control.getState('items'), audit: await run.control.auditLog('items') };
        const refused: unknown = await run.migration
          .advance({ reason: 'test: into ramp', gated: THRESHOLDS, rampPercent: 10 })
          .catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(MidairError);
        expect((refused as MidairError).code).toBe('BLOCKED');
        expect((refused as MidairError).message).toMatch(
          /entering ramp is blocked by 1 gate\(s\):\n\s+capacity: new is slower/,
        );
        expect({ state: await run.control.getState('items'), audit: await run.control.auditLog('items') }).toEqual(
          before,
        );

        // A new store that keeps up: back to dual-write and into shadow-read again, so its calls count afresh.
        delays.new = 3;
        await run.migration.rollback({ reason: 'test: new was too slow' });
        await run.migration.awaitFleet(); // the gate into shadow-read wants the fleet's acknowledgement
        await run.migration.advance({ reason: 'test: again', gated: THRESHOLDS });
        expect(run.migration.state.phase).toBe('shadow-read');
        await run.heartbeats();
        // The version changed: the slow calls no longer count, and the few made since are too few to judge by.
        expect((await run.migration.facts()).capacity?.new.calls).toBeLessThan(200);
        await run.traffic(800);
        expect((await run.migration.gates('ramp', THRESHOLDS)).find((g) => g.gate === 'capacity')).toMatchObject({
          ok: true,
          detail: expect.stringMatching(/^new p99 3\.\d\d ms vs old 2\.\d\d ms \(1\.\d\d×, limit 2\.0×\)/) as string,
        });
        const ramp = await run.migration.advance({ reason: 'test: into ramp', gated: THRESHOLDS, rampPercent: 10 });
        expect(ramp.phase).toBe('ramp');
      } finally {
        await run.close();
      }
    });
    expect(outcome).toMatchObject({ settled: true });
  });

  it('in dual-write new already takes calls (the second writes), and new-primary is gated as ramp is', async () => {
    const outcome = await simulate(42, async () => {
      const delays: Delays = { old: 2, new: 2 };
      const run = await capacityRun(memoryControlStore(), delays, THRESHOLDS);
      try {
        await run.migration.advance({ reason: 'test: dual writes', gated: THRESHOLDS });
        await run.traffic(200);
        const dual = (await run.migration.facts()).capacity;
        expect(dual?.new.calls).toBeGreaterThan(0);
        expect(dual?.old.calls).toBeGreaterThan(dual?.new.calls ?? 0); // old takes the reads and the first writes
        await run.migration.backfill();
        await run.migration.verify();
        await run.migration.advance({ reason: 'test: shadow reads', gated: THRESHOLDS });
        await run.traffic(800);
        await run.migration.advance({ reason: 'test: ramp', gated: THRESHOLDS, rampPercent: 100 });
        // New slows down while it serves the reads: the entry into new-primary is blocked.
        delays.new = 10;
        await run.traffic(800);
        const into = await run.migration.gates('new-primary', THRESHOLDS);
        expect(into.find((g) => g.gate === 'capacity')).toMatchObject({ ok: false });
        await expect(run.migration.advance({ reason: 'test: cut over', gated: THRESHOLDS })).rejects.toMatchObject({
          code: 'BLOCKED',
          message: expect.stringContaining('capacity: new is slower than the limit') as string,
        });
        expect(run.migration.state.phase).toBe('ramp');
      } finally {
        await run.close();
      }
    });
    expect(outcome).toMatchObject({ settled: true });
  });
});

describe('the store calls the figures are made of', () => {
  it('a second write and a strict write are heard per store, each with its own time; shadow reads are heard on the store they read', async () => {
    const outcome = await simulate(43, async () => {
      const delays: Delays = { old: 2, new: 5 };
      const run = await capacityRun(memoryControlStore(), delays, THRESHOLDS);
      const heard: StoreCall[] = [];
      const off = run.migration.on('store-call', (c) => heard.push(c));
      const seen = (): string[] =>
        heard
          .splice(0)
          .map((c) => `${c.side} ${c.op} ${c.ms}${c.nestedMs === undefined ? '' : ` (${c.nestedMs} inside)`}`);
      const repo = run.migration.repository();
      try {
        await run.migration.advance({ reason: 'test: dual writes' });
        await repo.put({ id: 1, version: 9, v: 'x' });
        await run.migration.settle();
        // Old's write, then new's sync, which read the authority (old) inside it: 7 ms on new, 2 of them old's.
        expect(seen()).toEqual(['old put 2', 'old get 2', 'new sync 7 (2 inside)']);
        await run.migration.setStrict(true, { reason: 'test: strict' });
        await repo.put({ id: 1, version: 10, v: 'y' });
        await run.migration.settle();
        // Strict: new takes the value under old's lock first (5 ms inside old's 7), then the usual sync.
        expect(seen()).toEqual(['new strict put 5', 'old put 7 (5 inside)', 'old get 2', 'new sync 7 (2 inside)']);
        await run.migration.setStrict(false, { reason: 'test: back' });
        await run.migration.backfill();
        await run.migration.verify();
        await run.migration.advance({ reason: 'test: shadow reads', gated: { minComparisons: 0 } });
        heard.length = 0;
        await repo.get(1);
        await run.migration.settle();
        expect(seen()).toEqual(['old get 2', 'new shadow-read 5']);
        expect(heard).toEqual([]);
      } finally {
        off();
        await run.close();
      }
    });
    expect(outcome).toMatchObject({ settled: true });
  });
});

describe('a store wrapped to be slow', () => {
  it('delays only the calls the application makes, by the amount set for its side', async () => {
    const inner = memoryStore<number, { id: number; version: number }>({ name: 'n', key: 'id', version: 'version' });
    const delays: Delays = { old: 0, new: 30 };
    const store: Store<number, { id: number; version: number }> = slowed(inner, delays, 'new');
    const outcome = await simulate(1, async () => {
      const t0 = Date.now();
      await store.put({ id: 1, version: 1 });
      const put = Date.now() - t0;
      await store.writeIfNewer([{ id: 2, version: 1 }]); // a job's call: not delayed
      return { put, total: Date.now() - t0, count: await store.count() };
    });
    expect(outcome).toMatchObject({ settled: true, value: { put: 30, total: 30, count: 2 } });
  });
});
