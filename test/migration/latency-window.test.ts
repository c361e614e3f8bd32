import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/migration/latency-window.js';

/** Within one bucket: a reported p99 is the upper edge of the bucket it fell in, at most 2^(1/16) above it. */
const BUCKET = 2 ** (1 / 16);

describe('the served-latency window an instance reports with its heartbeat', () => {
  it('reports the p99 (nearest rank, to within a bucket) and the count of the calls in its window', () => {
    let now = 0;
    const w = new LatencyWindow(1000, 4, () => now);
    expect(w.report()).toBeUndefined();
    for (let i = 0; i < 1000; i++) w.record(1);
    for (let i = 0; i < 10; i++) w.record(50);
    const mostlyFast = w.report();
    expect(mostlyFast?.count).toBe(1010);
    // Rank 1000 of 1010 is still a 1 ms call.
    expect(mostlyFast?.p99Ms).toBeGreaterThanOrEqual(1);
    expect(mostlyFast?.p99Ms).toBeLessThanOrEqual(BUCKET);
    for (let i = 0; i < 20; i++) w.record(50);
    const slowTail = w.report();
    expect(slowTail?.count).toBe(1030);
    expect(slowTail?.p99Ms).toBeGreaterThanOrEqual(50);
    expect(slowTail?.p99Ms).toBeLessThanOrEqual(50 * BUCKET);
    now = 100;
    w.record(0); // under a microsecond, and no NaN for nonsense
    w.record(Number.NaN);
    expect(w.report()?.count).toBe(1032);
  });

  it('slides: a slice leaves the window once a whole window has passed after it', () => {
    let now = 0;
    const w = new LatencyWindow(1000, 4, () => now);
    for (let i = 0; i < 100; i++) w.record(8); // slice 0: [0, 250)
    now = 750; // slice 3
    for (let i = 0; i < 100; i++) w.record(2);
    expect(w.report()?.count).toBe(200);
    expect(w.report()?.p99Ms).toBeGreaterThanOrEqual(8);
    now = 1000; // slice 4 takes slice 0's place
    expect(w.report()?.count).toBe(100);
    expect(w.report()?.p99Ms).toBeLessThanOrEqual(2 * BUCKET);
    w.record(4);
    expect(w.report()?.count).toBe(101);
    now = 5000; // long idle: nothing left
    expect(w.report()).toBeUndefined();
  });
});
