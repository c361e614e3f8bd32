import { describe, expect, it } from 'vitest';
import { checkGate, checkGates, GATES_INTO, type MigrationFacts, type StoreCall } from '../../src/index.js';
import type { CallFigures, InstanceInfo, StoreCallFigures } from '../../src/control/fleet.js';
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

const NONE = { calls: 0, errors: 0, buckets: [] };

describe('what one instance accumulates for the capacity gate', () => {
  it('counts reads and writes per store, with the errors that are the store’s own (not FENCED, not constraint errors)', () => {
    const r = new CapacityRecorder();
    r.record(call({ side: 'old', op: 'put', ms: 2 }));
    r.record(call({ side: 'old', op: 'get', ms: 1 }));
    for (const error of ['TIMEOUT', 'UNKNOWN', 'CONNECTION', 'DEADLOCK']) r.record(call({ error, ms: 100 }));
    for (const error of ['FENCED', 'UNIQUE_VIOLATION', 'CONFLICT', 'ABORTED']) r.record(call({ error, ms: 0.2 }));
    r.record(call({ op: 'shadow-read', ms: 0.5 }));
    for (const op of ['sync', 'strict put', 'delete', 'update']) r.record(call({ op, ms: 3 }));
    const f = r.report(3);
    expect(f.phaseVersion).toBe(3);
    expect(f.old).toEqual({
      reads: { calls: 1, errors: 0, buckets: [[bucketOf(1), 1]] },
      writes: { calls: 1, errors: 0, buckets: [[bucketOf(2), 1]] },
    });
    expect(f.new.reads).toMatchObject({ calls: 9, errors: 4 });
    expect(f.new.writes).toEqual({ calls: 4, errors: 0, buckets: [[bucketOf(3), 4]] });
    // Failed calls are in the histogram too: the caller waited for them.
    expect(f.new.reads.buckets.reduce((n, [, c]) => n + c, 0)).toBe(9);
    expect(f.new.reads.buckets).toContainEqual([bucketOf(100), 4]);
  });

  it('a call’s time is its own: the part spent in a call on the other store inside it is left out', () => {
    const r = new CapacityRecorder();
    // A second write on new: 6 ms in all, 5 of them reading the authority (old) — itself a call on old.
    r.record(call({ side: 'old', op: 'get', ms: 5 }));
    r.record(call({ side: 'new', op: 'sync', ms: 6, nestedMs: 5 }));
    const f = r.report(3);
    expect(f.new.writes.buckets).toEqual([[bucketOf(1), 1]]);
    expect(f.old.reads.buckets).toEqual([[bucketOf(5), 1]]);
  });

  it('starts afresh on a newer phase version, leaves out calls still finishing under an older one, and reports an empty version it serves', () => {
    const r = new CapacityRecorder();
    for (let i = 0; i < 5; i++) r.record(call({ phaseVersion: 3, ms: 9 }));
    expect(r.report(3).new.reads.calls).toBe(5);
    r.record(call({ phaseVersion: 4, ms: 1 }));
    r.record(call({ phaseVersion: 3, ms: 9, error: 'TIMEOUT' })); // late, from before the change
    expect(r.report(4)).toEqual({
      phaseVersion: 4,
      old: { reads: NONE, writes: NONE },
      new: { reads: { calls: 1, errors: 0, buckets: [[bucketOf(1), 1]] }, writes: NONE },
    });
    // The instance moved to version 6 and made no call under it yet: 6, with nothing counted.
    expect(r.report(6)).toEqual({
      phaseVersion: 6,
      old: { reads: NONE, writes: NONE },
      new: { reads: NONE, writes: NONE },
    });
    r.record(call({ phaseVersion: 5, ms: 1 }));
    expect(r.report(6).new.reads.calls).toBe(0);
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

/** One kind of call: `calls` of them at `ms`, `errors` of them failed. */
const kind = (calls: number, ms: number, errors = 0): CallFigures => ({
  calls,
  errors,
  buckets: calls === 0 ? [] : [[bucketOf(ms), calls]],
});
const edge = (ms: number): number => upperEdgeMs(bucketOf(ms));

describe('the fleet’s figures: live instances, current phase version', () => {
  it('sums the calls and merges the histograms of the instances on the current version only', () => {
    const fleet = [
      instance('a', {
        phaseVersion: 7,
        old: { reads: kind(990, 1), writes: NONE },
        new: { reads: kind(500, 2, 1), writes: NONE },
      }),
      instance('b', {
        phaseVersion: 7,
        old: { reads: kind(10, 30, 2), writes: NONE },
        new: { reads: kind(500, 4), writes: NONE },
      }),
      instance('stale', {
        phaseVersion: 6,
        old: { reads: kind(5000, 100), writes: NONE },
        new: { reads: kind(5000, 100, 5000), writes: NONE },
      }),
      instance('older-midair'),
    ];
    expect(fleetCapacity(fleet, 7)).toMatchObject({
      old: { calls: 1000, errors: 2, p99Ms: edge(1) },
      new: { calls: 1000, errors: 1, p99Ms: edge(4) },
      // Reads only on both: the baseline is old's reads.
      baseline: { p99Ms: edge(1), writeShare: 0 },
    });
    // Everyone moved on: nothing counted yet in version 8.
    expect(fleetCapacity(fleet, 8)).toMatchObject({
      old: { calls: 0, errors: 0, p99Ms: 0 },
      new: { calls: 0, errors: 0, p99Ms: 0 },
    });
    expect(fleetCapacity(fleet, 8)?.baseline).toBeUndefined();
    expect(fleetCapacity([instance('older-midair')], 7)).toBeUndefined();
    expect(fleetCapacity([], 7)).toBeUndefined();
  });

  it('holds new to old’s p99 at new’s mix of reads and writes, not to old’s own mix', () => {
    // Shadow-read: old serves the reads (fast) and the first writes (slower); new takes mostly second writes.
    const fleet = [
      instance('a', {
        phaseVersion: 7,
        old: { reads: kind(9000, 0.2), writes: kind(1000, 3) },
        new: { reads: kind(250, 0.3), writes: kind(1000, 4) },
      }),
    ];
    const c = fleetCapacity(fleet, 7);
    // Old's p99 over its own mix (10 % writes) falls among its writes, and each kind has its own…
    expect(c?.old).toMatchObject({ calls: 10_000, p99Ms: edge(3) });
    expect(c?.old.reads).toEqual({ calls: 9000, errors: 0, p99Ms: edge(0.2) });
    expect(c?.old.writes).toEqual({ calls: 1000, errors: 0, p99Ms: edge(3) });
    // …and new, 80 % writes, is held to old's reads and writes weighted 20:80.
    expect(c?.baseline).toEqual({ p99Ms: edge(3), writeShare: 0.8 });
    expect(c?.new).toMatchObject({ calls: 1250, p99Ms: edge(4) });
    // Without the weighting a new store as fast as old at writes would fail: its p99 is a write's, old's mostly a read's.
    const sameSpeed = [
      instance('a', {
        phaseVersion: 7,
        old: { reads: kind(9950, 0.2), writes: kind(50, 3) },
        new: { reads: kind(250, 0.2), writes: kind(1000, 3) },
      }),
    ];
    const s = fleetCapacity(sameSpeed, 7);
    expect(s?.old.p99Ms).toBe(edge(0.2));
    expect(s?.baseline?.p99Ms).toBe(edge(3));
    expect(checkGate('capacity', facts(s)).ok).toBe(true);
  });
});

describe('the heartbeat’s figures as control stores keep them', () => {
  const figures: StoreCallFigures = {
    phaseVersion: 12,
    old: {
      reads: {
        calls: 7,
        errors: 1,
        buckets: [
          [0, 2],
          [bucketOf(1.5), 5],
        ],
      },
      writes: NONE,
    },
    new: { reads: NONE, writes: kind(3, 2) },
  };

  it('round-trip as text, and text this version cannot read is left out, not an error', () => {
    expect(decodeStoreCalls(encodeStoreCalls(figures))).toEqual(figures);
    expect(decodeStoreCalls(null)).toBeUndefined();
    for (const bad of ['{', '[]', '{"phaseVersion":1}', '{"phaseVersion":1,"old":{},"new":{}}'])
      expect(decodeStoreCalls(bad)).toBeUndefined();
    // A histogram that does not add up to its calls, or buckets off the scale, are not figures.
    const off = { ...figures, old: { ...figures.old, reads: { ...figures.old.reads, calls: 8 } } };
    expect(decodeStoreCalls(JSON.stringify(off))).toBeUndefined();
    const beyond = { ...figures, new: { reads: NONE, writes: { calls: 1, errors: 0, buckets: [[BUCKETS, 1]] } } };
    expect(decodeStoreCalls(JSON.stringify(beyond))).toBeUndefined();
  });

  it('a heartbeat with figures that could not be read back is refused, saying what is wrong', () => {
    expect(storeCallsProblem(figures)).toBeUndefined();
    expect(storeCallsProblem(undefined)).toBeUndefined();
    const unordered: StoreCallFigures = {
      ...figures,
      old: {
        reads: NONE,
        writes: {
          calls: 2,
          errors: 0,
          buckets: [
            [5, 1],
            [3, 1],
          ],
        },
      },
    };
    expect(storeCallsProblem(unordered)).toMatch(/ascending bucket order/);
    const tooMany: StoreCallFigures = { ...figures, new: { reads: kind(1, 2, 2), writes: NONE } };
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
