import { expect, vi } from 'vitest';
import type { MigrationMetrics } from '../../src/index.js';
import type { FigureName } from '../../src/metrics/catalogue.js';
import { item, rig, type Item, type Rig } from '../migration/setup.js';

type Labels = Readonly<Record<string, string>>;

/** What a test reads of an exporter after a collection, by figure (the exporter's own names looked up from the catalogue). */
export interface Reading {
  /** The value of the one series of `figure` whose labels include `labels` (and `migration: items`); `undefined`: none. */
  value(figure: FigureName, labels?: Labels): number | undefined;
  /** The store-call histogram's count and sum for the series whose labels include `labels`. */
  durations(labels: Labels): { readonly count: number; readonly sum: number } | undefined;
  /** Every series of midair's figures: its figure and labels (to check that no label holds a key). */
  series(): readonly { readonly figure: FigureName; readonly labels: Labels }[];
}

async function fill(store: { writeIfNewer(e: Item[]): Promise<unknown> }, from: number, n: number): Promise<void> {
  await store.writeIfNewer(Array.from({ length: n }, (_, i) => item(from + i, 1, `old ${from + i}`)));
}

/**
 * A migration walked from old-only to shadow-read on memory stores, with the
 * exporter's figures read and checked after each step: calls counted per
 * side, operation and result with their times, the phase and its version,
 * the fleet, a failed second write, its repair and the queue, a backfill's
 * progress, a verification's planted differences, shadow comparisons and the
 * gates. The same script for every exporter: the figures must be the same.
 */
export async function scriptedMigration(metrics: MigrationMetrics, collect: () => Promise<Reading>): Promise<Rig> {
  const r = await rig({ metrics, repair: { enabled: false } });
  const repo = r.migration.repository();
  const m = { migration: 'items' };

  // old-only: three puts and two gets, on old alone.
  for (const id of [1, 2, 3]) await repo.put(item(id, 1));
  await repo.get(1);
  await repo.get(99);
  let f = await collect();
  expect(f.value('storeCalls', { ...m, side: 'old', op: 'put', result: 'ok' })).toBe(3);
  expect(f.value('storeCalls', { ...m, side: 'old', op: 'get', result: 'ok' })).toBe(2);
  expect(f.value('storeCalls', { ...m, side: 'new' })).toBeUndefined();
  expect(f.durations({ ...m, side: 'old', op: 'put' })).toMatchObject({ count: 3 });
  expect(f.durations({ ...m, side: 'old', op: 'put' })?.sum).toBeGreaterThan(0);
  const v0 = r.migration.state.version;
  expect(f.value('phase', { ...m, phase: 'old-only' })).toBe(1);
  expect(f.value('phase', { ...m, phase: 'dual-write' })).toBe(0);
  expect(f.value('phaseVersion', m)).toBe(v0);
  expect(f.value('instancePhaseVersion', m)).toBe(v0);
  expect(f.value('fleetInstances', { ...m, phase_version: String(v0) })).toBe(1);
  expect(f.value('controlUp', m)).toBe(1);
  expect(f.value('repairQueueDepth', m)).toBe(0);
  expect(f.value('gatePassing', { ...m, to: 'dual-write', gate: 'fleet' })).toBe(1);

  // dual-write with new down: the second write fails and its key is queued for repair.
  await r.goTo('dual-write');
  r.newFaults.down = true;
  await repo.put(item(4, 1));
  await r.migration.settle();
  r.newFaults.down = false;
  f = await collect();
  expect(f.value('phase', { ...m, phase: 'dual-write' })).toBe(1);
  expect(f.value('phase', { ...m, phase: 'old-only' })).toBe(0);
  expect(f.value('phaseVersion', m)).toBe(r.migration.state.version);
  expect(f.value('secondWriteFailures', { ...m, side: 'new', code: 'CONNECTION' })).toBe(1);
  expect(f.value('storeCalls', { ...m, side: 'new', op: 'sync', result: 'CONNECTION' })).toBe(1);
  expect(f.value('repairsEnqueued', { ...m, reason: 'CONNECTION' })).toBe(1);
  expect(f.value('repairQueueDepth', m)).toBe(1);

  // The repair runs: the queue is empty again (an entry of a write that may still land is re-synced until it is fenced out).
  await r.migration.drainRepairs();
  f = await collect();
  expect(f.value('repairs', { ...m, result: 'put' })).toBeGreaterThanOrEqual(1);
  expect(f.value('repairs', { ...m, result: 'deleted' })).toBe(0);
  expect(f.value('repairQueueDepth', m)).toBe(0);

  // A backfill of 504 rows: its progress, from the control store.
  await fill(r.oldStore, 100, 500);
  expect(await r.migration.backfill({ chunkSize: 100 })).toMatchObject({ status: 'complete', rowsRead: 504 });
  f = await collect();
  const run = { ...m, run: 'backfill' };
  expect(f.value('backfillRows', run)).toBe(504);
  expect(f.value('backfillProgress', run)).toBe(1);
  expect(f.value('backfillRunning', run)).toBe(0);
  expect(f.value('backfillRate', run)).toBe(0);
  expect(f.value('backfillEta', run)).toBeUndefined();
  expect(f.value('backfillComplete', m)).toBe(1);
  expect(f.value('backfillProgressAt', run)).toBeGreaterThan(0);

  // A verification with one key missing in new and one different.
  await r.newStore.delete(100);
  await r.newStore.put({ ...item(101, 1), v: 'changed' });
  expect(await r.migration.verify({ rechecks: 0 })).toMatchObject({ status: 'different' });
  f = await collect();
  expect(f.value('verifyDifferences', { ...m, kind: 'missing' })).toBe(1);
  expect(f.value('verifyDifferences', { ...m, kind: 'different' })).toBe(1);
  expect(f.value('verifyDifferences', { ...m, kind: 'extra' })).toBe(0);
  expect(f.value('verifyMatched', m)).toBe(502);
  expect(f.value('verifyInfo', { ...m, mode: 'full', status: 'different', phase: 'dual-write' })).toBe(1);

  // shadow-read: three reads that match and one that does not (100 is missing in new).
  await r.goTo('shadow-read');
  for (const id of [1, 2, 3, 100]) await repo.get(id);
  await r.migration.settle();
  f = await collect();
  expect(f.value('shadowComparisons', { ...m, result: 'match' })).toBe(3);
  expect(f.value('shadowComparisons', { ...m, result: 'mismatch' })).toBe(1);
  expect(f.value('shadowComparisons', { ...m, result: 'error' })).toBe(0);
  expect(f.value('gatePassing', { ...m, to: 'ramp', gate: 'backfill' })).toBe(1);
  expect(f.value('gatePassing', { ...m, to: 'ramp', gate: 'verification' })).toBe(0);
  // The fleet-wide counts the shadow gate reads are saved by the instance after its next refresh.
  await vi.waitFor(
    async () => {
      const g = await collect();
      expect(g.value('shadowPhaseComparisons', m)).toBe(4);
      expect(g.value('shadowPhaseMismatches', m)).toBe(1);
      expect(g.value('shadowMismatchRatio', m)).toBe(0.25);
    },
    { timeout: 5000, interval: 50 },
  );

  // No label holds a key: every key id (n1, n100, …) is absent from every label value.
  const keyLike = f
    .series()
    .flatMap((s) => Object.entries(s.labels).map(([label, value]) => ({ figure: s.figure, label, value })))
    .filter((l) => /^[ns]\d/.test(l.value));
  expect(keyLike).toEqual([]);
  expect(f.series().length).toBeGreaterThan(50);
  return r;
}
