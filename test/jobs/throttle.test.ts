import { describe, expect, it } from 'vitest';
import { Throttle } from '../../src/index.js';

describe('throttle', () => {
  it('sizes chunks so each takes about the target time (smoothed)', () => {
    const t = new Throttle({ chunkSize: 1000, targetChunkMs: 250 });
    t.record(1000, 100); // 10 000 rows/s → 2 500 rows in 250 ms
    expect(t.chunkSize).toBe(2500);
    t.record(2500, 1000); // 2 500 rows/s: the average moves a quarter of the way
    expect(t.chunkSize).toBe(Math.round((0.75 * 10_000 + 0.25 * 2500) * 0.25));
  });

  it('keeps a rows/s ceiling by asking for a pause, and never sizes a chunk past it', () => {
    const t = new Throttle({ chunkSize: 1000, targetChunkMs: 250, maxRowsPerSecond: 2000 });
    expect(t.record(1000, 100)).toBe(400); // 1000 rows may take no less than 500 ms
    expect(t.chunkSize).toBe(500); // 2000 rows/s × 250 ms
    t.maxRowsPerSecond = undefined; // retuned while running
    expect(t.record(500, 10)).toBe(0);
  });

  it('stays within its bounds, and a target of 0 keeps the size fixed', () => {
    const t = new Throttle({ chunkSize: 50, minChunkSize: 20, maxChunkSize: 100 });
    t.record(50, 1);
    expect(t.chunkSize).toBe(100);
    t.record(10, 10_000);
    expect(t.chunkSize).toBeGreaterThanOrEqual(20);
    const fixed = new Throttle({ chunkSize: 300, targetChunkMs: 0 });
    fixed.record(300, 1);
    expect(fixed.chunkSize).toBe(300);
  });
});
