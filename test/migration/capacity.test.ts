import { describe, expect, it } from 'vitest';
import { checkGate, checkGates, GATES_INTO, type MigrationFacts, type StoreCall } from '../../src/index.js';
import type { InstanceInfo, StoreCallFigures } from '../../src/control/fleet.js';
import { decodeStoreCalls, encodeStoreCalls, storeCallsProblem } from '../../src/control/store-calls.js';
import { bucketOf, mergeBuckets, quantileMs, sparse, upperEdgeMs, BUCKETS } from '../../src/core/latency-buckets.js';
import { CapacityRecorder, fleetCapacity } from '../../src/migration/capacity.js';
import { rng } from '../support/rng.js';

/** A reported percentile is the upper edge of the bucket it fell in: at most 2^(1/16) above the true one. */
const BUCKET = 2 ** (1 / 16);

const call = (over: Partial<StoreCall> = {}): StoreCall => ({
  side: 'new',
  op: 'get',
  phase: 'shadow-read',
  phaseVersion: 3,
  ms: 1,
  ...over,
});

/** The exact nearest-rank p99 of a sample. */
const trueP99 = (sample: readonly number[]): number => {
  const sorted = [...sample].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1] as number;
};

describe('the capacity histogram: merged exactly, its p99 read from the merge', () => {
  it('merging two instances’ histograms gives the histogram of all their calls, and the p99 of all of them', () => {
    const random = rng(21);
    // Two instances with different latency: one fast and steady, one slower with a tail.
    const a = Array.from({ length: 3000 }, () => 0.5 + random());
    const b = Array.from({ length: 1000 }, () => (random() < 0.05 ? 40 + 20 * random() : 2 + random()));
    const dense = (sample: readonly number[]): Float64Array => {
      const counts = new Float64Array(BUCKETS);
      for (const ms of sample) counts[bucketOf(ms)] = (counts[bucketOf(ms)] as number) + 1;
      return counts;
    };
    const merged = mergeBuckets([sparse(dense(a)), sparse(dense(b))]);
    expect([...merged]).toEqual([...dense([...a, ...b])]);
    const p99 = quantileMs(merged, 0.99);
    const exact = trueP99([...a, ...b]);
    expect(p99).toBeGreaterThanOrEqual(exact);
    expect(p99).toBeLessThanOrEqual(exact * BUCKET);
    // What per-instance p99s would have suggested is not it: neither instance's p99 nor their mean.
    const each = [trueP99(a), trueP99(b)];
    expect(each.some((x) => Math.abs(x - exact) / exact < 0.05)).toBe(false);
    expect(Math.abs((each[0]! + each[1]!) / 2 - exact) / exact).toBeGreaterThan(0.1);
  });

  it('nearest rank at the edges: one call is its own p99, nothing is 0, and the scale is shared', () => {
    expect(quantileMs(mergeBuckets([]), 0.99)).toBe(0);
    expect(quantileMs(mergeBuckets([[[bucketOf(3), 1]]]), 0.99)).toBe(upperEdgeMs(bucketOf(3)));
    // 99 calls at 1 ms and one at 50 ms: rank 99 of 100 is still 1 ms; a second slow call moves it.
    const one = bucketOf(1);
    const slow = bucketOf(50);
    expect(quantileMs(mergeBuckets([[[one, 99]], [[slow, 1]]]), 0.99)).toBe(upperEdgeMs(one));
    expect(quantileMs(mergeBuckets([[[one, 98]], [[slow, 2]]]), 0.99)).toBe(upperEdgeMs(slow));
    expect(upperEdgeMs(bucketOf(7.3))).toBeGreaterThanOrEqual(7.3);
    expect(upperEdgeMs(bucketOf(7.3))).toBeLessThanOrEqual(7.3 * BUCKET);
  });
});

describe('what one instance accumulates for the capacity gate', () => {
  it('counts calls per store, with the errors that are the store’s own (not FENCED, not constraint errors)', () => {
    const r = new CapacityRecorder();
    r.record(call({ side: 'old', op: 'put', ms: 2 }));
    r.record(call({ side: 'old', op: 'get', ms: 1 }));
    for (const error of ['TIMEOUT', 'UNKNOWN', 'CONNECTION', 'DEADLOCK']) r.record(call({ error, ms: 100 }));
    for (const error of ['FENCED', 'UNIQUE_VIOLATION', 'CONFLICT', 'ABORTED']) r.record(call({ error, ms: 0.2 }));
    r.record(call({ op: 'shadow-read', ms: 0.5 }));
    const f = r.report(3);
    expect(f.phaseVersion).toBe(3);
    expect(f.old).toMatchObject({ calls: 2, errors: 0 });
    expect(f.new).toMatchObject({ calls: 9, errors: 4 });
    // Failed calls are in the histogram too: the caller waited for them.
    expect(f.new.buckets.reduce((n, [, c]) => n + c, 0)).toBe(9);
    expect(f.new.buckets).toContainEqual([bucketOf(100), 4]);
  });

  it('a call’s time is its own: the part spent in a call on the other store inside it is left out', () => {
    const r = new CapacityRecorder();
    // A second write on new: 6 ms in all, 5 of them reading the authority (old) — itself a call on old.
    r.record(call({ side: 'old', op: 'get', ms: 5 }));
    r.record(call({ side: 'new', op: 'sync', ms: 6, nestedMs: 5 }));
    const f = r.report(3);
    expect(f.new.buckets).toEqual([[bucketOf(1), 1]]);
    expect(f.old.buckets).toEqual([[bucketOf(5), 1]]);
  });

  it('starts afresh on a newer phase version, leaves out calls still finishing under an older one, and reports an empty version it serves', () => {
    const r = new CapacityRecorder();
    for (let i = 0; i < 5; i++) r.record(call({ phaseVersion: 3, ms: 9 }));
    expect(r.report(3).new.calls).toBe(5);
    r.record(call({ phaseVersion: 4, ms: 1 }));
    r.record(call({ phaseVersion: 3, ms: 9, error: 'TIMEOUT' })); // late, from before the change
    expect(r.report(4)).toEqual({
      phaseVersion: 4,
      old: { calls: 0, errors: 0, buckets: [] },
      new: { calls: 1, errors: 0, buckets: [[bucketOf(1), 1]] },
    });
    // The instance moved to version 6 and made no call under it yet: 6, with nothing counted.
    expect(r.report(6)).toEqual({
      phaseVersion: 6,
      old: { calls: 0, errors: 0, buckets: [] },
      new: { calls: 0, errors: 0, buckets: [] },
    });
    r.record(call({ phaseVersion: 5, ms: 1 }));
    expect(r.report(6).new.calls).toBe(0);
  });
});

const instance = (id: string, storeCalls?: StoreCallFigures): InstanceInfo => ({
  migration: 'users',
  instanceId: id,
  host: 'h',
  phaseVersion: 7,
  inFlightWrites: 0,
  lastSeen: new Date(0),
  startedAt: new Date(0),
  ...(storeCalls ? { storeCalls } : {}),
});

describe('the fleet’s figures: live instances, current phase version', () => {
  it('sums the calls and merges the histograms of the instances on the current version only', () => {
    const side = (calls: number, errors: number, ms: number): StoreCallFigures['old'] => ({
      calls,
      errors,
      buckets: [[bucketOf(ms), calls]],
    });
    const fleet = [
      instance('a', { phaseVersion: 7, old: side(990, 0, 1), new: side(500, 1, 2) }),
      instance('b', { phaseVersion: 7, old: side(10, 2, 30), new: side(500, 0, 4) }),
      instance('stale', { phaseVersion: 6, old: side(5000, 0, 100), new: side(5000, 5000, 100) }),
      instance('older-midair'),
    ];
    expect(fleetCapacity(fleet, 7)).toEqual({
      old: { calls: 1000, errors: 2, p99Ms: upperEdgeMs(bucketOf(1)) },
      new: { calls: 1000, errors: 1, p99Ms: upperEdgeMs(bucketOf(4)) },
    });
    // Everyone moved on: nothing counted yet in version 8.
    expect(fleetCapacity(fleet, 8)).toEqual({
      old: { calls: 0, errors: 0, p99Ms: 0 },
      new: { calls: 0, errors: 0, p99Ms: 0 },
    });
    expect(fleetCapacity([instance('older-midair')], 7)).toBeUndefined();
    expect(fleetCapacity([], 7)).toBeUndefined();
  });
});

describe('the heartbeat’s figures as control stores keep them', () => {
  const figures: StoreCallFigures = {
    phaseVersion: 12,
    old: {
      calls: 7,
      errors: 1,
      buckets: [
        [0, 2],
        [bucketOf(1.5), 5],
      ],
    },
    new: { calls: 0, errors: 0, buckets: [] },
  };

  it('round-trip as text, and text this version cannot read is left out, not an error', () => {
    expect(decodeStoreCalls(encodeStoreCalls(figures))).toEqual(figures);
    expect(decodeStoreCalls(null)).toBeUndefined();
    for (const bad of ['{', '[]', '{"phaseVersion":1}', '{"phaseVersion":1,"old":{},"new":{}}'])
      expect(decodeStoreCalls(bad)).toBeUndefined();
    // A histogram that does not add up to its calls, or buckets off the scale, are not figures.
    const off = { ...figures, old: { ...figures.old, calls: 8 } };
    expect(decodeStoreCalls(JSON.stringify(off))).toBeUndefined();
    const beyond = { ...figures, new: { calls: 1, errors: 0, buckets: [[BUCKETS, 1]] } };
    expect(decodeStoreCalls(JSON.stringify(beyond))).toBeUndefined();
  });

  it('a heartbeat with figures that could not be read back is refused, saying what is wrong', () => {
    expect(storeCallsProblem(figures)).toBeUndefined();
    expect(storeCallsProblem(undefined)).toBeUndefined();
    const unordered = {
      ...figures,
      old: {
        calls: 2,
        errors: 0,
        buckets: [
          [5, 1],
          [3, 1],
        ] as const,
      },
    };
    expect(storeCallsProblem(unordered)).toMatch(/ascending bucket order/);
    const tooMany = { ...figures, old: { calls: 1, errors: 2, buckets: [[5, 1]] as const } };
    expect(storeCallsProblem(tooMany)).toMatch(/errors \(at most calls\)/);
  });
});

const now = new Date('2026-01-01T12:00:00Z');
const facts = (capacity: MigrationFacts['capacity']): MigrationFacts => ({
  state: {
    migration: 'users',
    phase: 'shadow-read',
    rampPercent: 0,
    writesPaused: false,
    strict: false,
    version: 7,
    changedAt: now,
  },
  fleet: [],
  backfill: { complete: true, started: true },
  lastVerification: undefined,
  shadow: { comparisons: 0, mismatches: 0 },
  repairDepth: 0,
  parked: { count: 0, sample: [] },
  deadLetters: 0,
  enteredNewPrimaryAt: undefined,
  capacity,
  now,
});
const figures = (oldP99: number, newP99: number, newCalls = 12_345, newErrors = 0): MigrationFacts['capacity'] => ({
  old: { calls: 40_000, errors: 3, p99Ms: oldP99 },
  new: { calls: newCalls, errors: newErrors, p99Ms: newP99 },
});

describe('the capacity gate', () => {
  it('gates the entries into ramp and new-primary, and no other', () => {
    for (const [phase, gates] of Object.entries(GATES_INTO))
      expect([phase, gates.includes('capacity')]).toEqual([phase, phase === 'ramp' || phase === 'new-primary']);
  });

  it('passes at k × old’s p99 and blocks above it, saying both p99s, the limit and the calls', () => {
    const at = checkGate('capacity', facts(figures(2, 4)));
    expect(at).toEqual({
      gate: 'capacity',
      ok: true,
      detail:
        "new p99 4.00 ms vs old 2.00 ms (2.00×, limit 2.0×) over 12 345 calls on new and 40 000 on old; new's errors 0 (0.00 %, limit 0.10 %)",
    });
    const above = checkGate('capacity', facts(figures(2, 4.01)));
    expect(above.ok).toBe(false);
    expect(above.detail).toMatch(
      /^new is slower than the limit: new p99 4\.01 ms vs old 2\.00 ms \(2\.00×, limit 2\.0×\)/,
    );
    // The factor is the operator's.
    expect(checkGate('capacity', facts(figures(2, 4.01)), { capacityLatencyFactor: 2.5 }).ok).toBe(true);
    expect(checkGate('capacity', facts(figures(2, 3.1)), { capacityLatencyFactor: 1.5 })).toMatchObject({
      ok: false,
      detail: expect.stringContaining('limit 1.5×') as string,
    });
    // Bucket edges: new exactly 16 buckets (one doubling) above old is at the limit, not past it by a rounding.
    const b = bucketOf(1.3);
    expect(checkGate('capacity', facts(figures(upperEdgeMs(b), upperEdgeMs(b + 16)))).ok).toBe(true);
    expect(checkGate('capacity', facts(figures(upperEdgeMs(b), upperEdgeMs(b + 17)))).ok).toBe(false);
  });

  it('passes at the error-rate bound and blocks above it', () => {
    expect(checkGate('capacity', facts(figures(2, 2, 10_000, 10))).ok).toBe(true); // 0.10 %
    const above = checkGate('capacity', facts(figures(2, 2, 10_000, 11)));
    expect(above.ok).toBe(false);
    expect(above.detail).toMatch(/^new fails more often than the limit: .*new's errors 11 \(0\.11 %, limit 0\.10 %\)$/);
    const both = checkGate('capacity', facts(figures(2, 5, 10_000, 11)));
    expect(both.detail).toMatch(/^new is slower than the limit, and new fails more often than the limit: /);
    expect(checkGate('capacity', facts(figures(2, 2, 10_000, 50)), { maxNewErrorRate: 0.005 }).ok).toBe(true);
  });

  it('waits for enough calls on each store, and says so when new took none yet', () => {
    expect(checkGate('capacity', facts(figures(1, 1, 0)))).toEqual({
      gate: 'capacity',
      ok: false,
      detail:
        "new took 0 of the 1 000 calls needed in this phase so far (old 40 000): it takes the application's second writes and shadow reads; wait for more traffic, or lower gates.minCapacityCalls",
    });
    expect(checkGate('capacity', facts(figures(1, 1, 999))).ok).toBe(false);
    expect(checkGate('capacity', facts(figures(1, 1, 1000))).ok).toBe(true);
    expect(checkGate('capacity', facts(figures(1, 1, 50)), { minCapacityCalls: 50 }).ok).toBe(true);
    const fewOld = { old: { calls: 20, errors: 0, p99Ms: 1 }, new: { calls: 5000, errors: 0, p99Ms: 1 } };
    expect(checkGate('capacity', facts(fewOld)).detail).toBe(
      'old took 20 of the 1 000 calls needed in this phase so far to compare new with (new 5 000)',
    );
    const none = { old: { calls: 0, errors: 0, p99Ms: 0 }, new: { calls: 0, errors: 0, p99Ms: 0 } };
    expect(checkGate('capacity', facts(none), { minCapacityCalls: 0 })).toMatchObject({ ok: true });
  });

  it('blocks when no live instance reports its calls (an older midair), saying why', () => {
    const g = checkGate('capacity', facts(undefined));
    expect(g.ok).toBe(false);
    expect(g.detail).toMatch(/^no live instance reports its calls on the stores/);
    expect(checkGates('ramp', facts(undefined)).find((x) => x.gate === 'capacity')).toEqual(g);
  });
});
