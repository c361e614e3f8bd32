import { describe, expect, it, vi } from 'vitest';
import {
  defineMigration,
  memoryControlStore,
  memoryStore,
  type ControlStore,
  type InstanceInfo,
  type Store,
} from '../../src/index.js';
import { SERVED_BASELINE_READS, SERVED_REPORT_MAX_AGE_MS } from '../../src/jobs/served-latency.js';
import { simulate } from '../support/sim-clock.js';
import { item, rig, type Item } from './setup.js';

describe('served-write latency: reported by every instance, paced on by the backfill', () => {
  it('an instance reports the p99 and count of the writes its repository served with its heartbeat', async () => {
    const r = await rig();
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    for (let i = 0; i < 60; i++) await repo.put(item(i, 1));
    await repo.patch(1, { v: 'patched' });
    await repo.delete(2);
    await vi.waitFor(async () => {
      const [me] = await r.control.instances('items', new Date(0));
      expect(me?.servedWrites?.count).toBeGreaterThanOrEqual(62);
      expect(me?.servedWrites?.p99Ms).toBeGreaterThan(0);
    });
  });

  it('a backfill waits while the reports show served writes past the bound, copies nothing meanwhile, and says how long', async () => {
    const rows = 600;
    const outcome = await simulate(21, async () => {
      const control = memoryControlStore();
      const old = memoryStore<number, Item>({ name: 'old', key: 'id', version: 'version' });
      await old.writeIfNewer(Array.from({ length: rows }, (_, i) => item(i + 1, 1)));
      const copied = { rows: 0 };
      const neu = slowWrites(memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' }), copied);
      // The application instance's reports as the run reads them, one per read: its level before the run (2 ms over
      // 500 writes, read SERVED_BASELINE_READS times), the same once the run goes, three reads past 1.2 × that, then
      // back to it.
      const reads: { p99Ms: number; rowsCopied: number }[] = [];
      const levels = [...Array.from({ length: SERVED_BASELINE_READS }, () => 2), 2, 5, 5, 5, 2];
      const fleet = reporting(control, (count) => {
        const p99Ms = levels[Math.min(count, levels.length - 1)] as number;
        reads.push({ p99Ms, rowsCopied: copied.rows });
        return p99Ms;
      });
      const m = defineMigration<number, Item>({
        name: 'items',
        old,
        new: neu,
        control: fleet,
        pollMs: 10,
        instanceExpiryMs: 10_000,
        repair: { enabled: false },
      });
      await m.start();
      await m.advance({ reason: 'test: dual writes' });
      const waits: string[] = [];
      const result = await m.backfill({ chunkSize: 50, targetChunkMs: 0, onWait: (w) => waits.push(w) });
      await m.close();
      return { result, waits, reads };
    });
    expect(outcome.settled).toBe(true);
    if (!outcome.settled) return;
    const { result, waits, reads } = outcome.value;
    expect(result).toMatchObject({ status: 'complete', inserted: rows });
    expect(waits).toEqual(['served-latency', 'served-latency', 'served-latency']);
    // Backed off 100, 200 and 400 ms, and eased back in afterwards (pauses after chunks at a reduced duty cycle).
    expect(result.waitedMs['served-latency']).toBeGreaterThanOrEqual(700);
    expect(result.waitedMs.latency).toBeUndefined();
    expect(result.rowsPerSecond).toBeGreaterThan(0);
    // From the read that first saw the fleet past the bound to the one that saw it recover, not one row was copied.
    const high = reads.filter((r) => r.p99Ms === 5);
    const recovered = reads[reads.indexOf(high.at(-1) as (typeof reads)[number]) + 1];
    expect(high).toHaveLength(3);
    expect(new Set([...high, recovered].map((r) => r?.rowsCopied))).toEqual(new Set([high[0]?.rowsCopied]));
    expect(high[0]?.rowsCopied).toBeGreaterThan(0);
    expect(high[0]?.rowsCopied).toBeLessThan(rows);
  });
});

/** `store` whose chunk writes each take 100 simulated ms (so the run's reads of the fleet come between chunks). */
function slowWrites(store: Store<number, Item>, copied: { rows: number }): Store<number, Item> {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'syncMany')
        return async (...args: Parameters<Store<number, Item>['syncMany']>) => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          const r = await target.syncMany(...args);
          copied.rows += args[0].length;
          return r;
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * `control`, with one more application instance in the fleet — acknowledging
 * every phase — whose served-write report the pace's reads of the fleet see
 * (they ask for reports no older than {@link SERVED_REPORT_MAX_AGE_MS}; a
 * phase change's wait for the fleet asks for another age and sees it too).
 * `p99` gives the report for the pace's n-th read.
 */
function reporting(control: ControlStore, p99: (read: number) => number): ControlStore {
  let paceReads = 0;
  return new Proxy(control, {
    get(target, prop) {
      if (prop === 'instances')
        return async (migration: string, since: Date): Promise<InstanceInfo[]> => {
          const listed = await target.instances(migration, since);
          const byPace = Date.now() - since.getTime() === SERVED_REPORT_MAX_AGE_MS;
          const version = (await target.getState(migration))?.version ?? 0;
          const app: InstanceInfo = {
            migration,
            instanceId: 'app-1',
            host: 'h',
            phaseVersion: version,
            inFlightWrites: 0,
            lastSeen: new Date(),
            startedAt: new Date(0),
            servedWrites: { p99Ms: byPace ? p99(paceReads++) : 2, count: 500 },
          };
          return [...listed, app];
        };
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
