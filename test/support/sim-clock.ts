import { vi } from 'vitest';
import { resetTimeoutSlots } from '../../src/migration/timeout.js';
import { rng } from './rng.js';

/** Captured before any fake timers exist: the one real yield the driver uses to let the microtask queue run dry. */
const realSetImmediate = globalThis.setImmediate;
const drained = async (): Promise<void> => new Promise<void>((resolve) => realSetImmediate(resolve));

/** Where every simulation's clock starts (a fixed instant, so dates in a trace replay too). */
export const SIM_EPOCH = Date.UTC(2030, 0, 1);

/**
 * performance.now() starts at 0 in every simulation, like Date at SIM_EPOCH:
 * the same absolute values on every replay, so even floating-point rounding
 * of differences (delays are fractional) is the same. The one module state
 * keyed by it, the store-call deadline slots, is cleared at the start
 * (regression: a growing base rounded differences differently, and a seed
 * replayed alone took another history than in its block).
 */

export interface SimulationLimits {
  /** Simulated time after which the body counts as hung. Default one hour. */
  readonly maxMs?: number;
  /** Timer firings after which the body counts as hung. Default 5 000 000. */
  readonly maxSteps?: number;
}

export type SimulationOutcome<T> =
  | { readonly settled: true; readonly value: T; readonly steps: number; readonly simulatedMs: number }
  | { readonly settled: false; readonly reason: string; readonly steps: number; readonly simulatedMs: number };

/** Milliseconds since the simulation began (for trace lines). */
export const simNow = (): number => Date.now() - SIM_EPOCH;

/**
 * Runs `body` on a simulated clock: Date, setTimeout, setInterval and
 * setImmediate are fake, performance.now follows the fake clock, and
 * Math.random is the seeded generator. The driver lets every microtask run,
 * then fires the next timer (earliest first, creation order on ties), and
 * repeats until the body settles — so a seed alone decides the history,
 * whatever the machine's speed. A body that can make no progress (no timer
 * left and not settled) or runs past the limits is reported, not awaited.
 * Simulations must not overlap (there is one clock).
 */
export async function simulate<T>(
  seed: number,
  body: () => Promise<T>,
  limits: SimulationLimits = {},
): Promise<SimulationOutcome<T>> {
  const maxMs = limits.maxMs ?? 3_600_000;
  const maxSteps = limits.maxSteps ?? 5_000_000;
  resetTimeoutSlots();
  vi.useFakeTimers({
    now: SIM_EPOCH,
    toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate'],
  });
  const random = vi.spyOn(Math, 'random').mockImplementation(rng((seed ^ 0x5bd1e995) >>> 0));
  const perf = vi.spyOn(performance, 'now').mockImplementation(() => simNow());
  let steps = 0;
  try {
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    body().then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    for (;;) {
      await drained();
      if (outcome) {
        if (!outcome.ok) throw outcome.error;
        return { settled: true, value: outcome.value, steps, simulatedMs: simNow() };
      }
      if (vi.getTimerCount() === 0)
        return {
          settled: false,
          reason: 'no timer left and the history has not settled (every remaining call waits forever)',
          steps,
          simulatedMs: simNow(),
        };
      if (simNow() > maxMs || steps >= maxSteps)
        return {
          settled: false,
          reason: `still running after ${simNow()} simulated ms and ${steps} timer firings`,
          steps,
          simulatedMs: simNow(),
        };
      vi.advanceTimersToNextTimer();
      steps++;
    }
  } finally {
    random.mockRestore();
    perf.mockRestore();
    vi.useRealTimers();
  }
}
