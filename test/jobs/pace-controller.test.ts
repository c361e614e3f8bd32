import { describe, expect, it } from 'vitest';
import { EASE_FROM, MIN_DUTY, PaceController } from '../../src/jobs/pace-controller.js';

describe('the pace controller: how hard a run pushes, from its readings', () => {
  it('turns each signal into a pressure (1 at its bound) and goes by the higher one', () => {
    const c = new PaceController({ latencyBudgetMs: 10, servedLatencyFactor: 1.2 });
    expect(c.pressure({ probeMs: 5 })).toEqual({ value: 0.5, reason: 'latency' });
    expect(c.pressure({ servedRatio: 1.1 }).value).toBeCloseTo(0.5);
    expect(c.pressure({ servedRatio: 1.1 }).reason).toBe('served-latency');
    expect(c.pressure({ probeMs: 2, servedRatio: 1.3 }).reason).toBe('served-latency');
    expect(c.pressure({ probeMs: 20, servedRatio: 1.1 })).toEqual({ value: 2, reason: 'latency' });
    // Served writes faster than before the run press not at all.
    expect(c.pressure({ servedRatio: 0.7 })).toEqual({ value: 0, reason: 'served-latency' });
    expect(c.pressure({})).toEqual({ value: 0, reason: undefined });
  });

  it('without a budget the probe does not count, and an infinite factor turns the served latency off', () => {
    expect(new PaceController({ servedLatencyFactor: 1.2 }).pressure({ probeMs: 1e6 }).value).toBe(0);
    const off = new PaceController({ latencyBudgetMs: 10, servedLatencyFactor: Infinity });
    expect(off.pressure({ servedRatio: 50 })).toEqual({ value: 0, reason: undefined });
  });

  it('past a bound it waits and halves its duty cycle each reading, down to the floor', () => {
    const c = new PaceController({ latencyBudgetMs: 10, servedLatencyFactor: 1.2 });
    expect(c.observe({ servedRatio: 1.5 })).toEqual({
      wait: true,
      pressure: expect.closeTo(2.5) as number,
      reason: 'served-latency',
    });
    expect(c.duty).toBe(0.5);
    c.observe({ probeMs: 11 });
    expect(c.duty).toBe(0.25);
    for (let i = 0; i < 10; i++) expect(c.observe({ probeMs: 30 }).wait).toBe(true);
    expect(c.duty).toBe(MIN_DUTY);
  });

  it('from halfway to a bound it keeps going but eases off before the bound is reached: shorter duty, a pause after each chunk', () => {
    const c = new PaceController({ latencyBudgetMs: 10, servedLatencyFactor: 1.2 });
    expect(c.pauseAfter(20)).toBe(0); // full speed: no pause
    const v = c.observe({ probeMs: 10 * EASE_FROM });
    expect(v.wait).toBe(false);
    expect(c.duty).toBe(1); // right at halfway: not yet
    c.observe({ probeMs: 9 });
    expect(c.duty).toBeCloseTo(1 - 0.3 * 0.8);
    expect(c.observe({ servedRatio: 1.18 }).wait).toBe(false);
    expect(c.duty).toBeLessThan(1 - 0.3 * 0.8);
    // A chunk of 20 ms is followed by a pause that keeps copying to `duty` of the time.
    expect(c.pauseAfter(20)).toBeCloseTo(20 * (1 / c.duty - 1));
    expect(20 / (20 + c.pauseAfter(20))).toBeCloseTo(c.duty);
  });

  it('below halfway it regains a tenth of its time per reading, back to full speed', () => {
    const c = new PaceController({ latencyBudgetMs: 10, servedLatencyFactor: 1.2 });
    c.observe({ probeMs: 50 });
    c.observe({ probeMs: 50 });
    expect(c.duty).toBe(0.25);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      c.observe({ probeMs: 1, servedRatio: 1.04 });
      seen.push(Number(c.duty.toFixed(2)));
    }
    expect(seen).toEqual([0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1, 1, 1]);
    expect(c.pauseAfter(40)).toBe(0);
    expect(c.last).toEqual({ wait: false, pressure: expect.closeTo(0.2) as number, reason: 'served-latency' });
  });
});
