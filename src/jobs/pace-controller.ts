/**
 * How hard a run pushes, decided from what its pace measures: a pure state
 * machine (no clock, no I/O), so its decisions can be tested step by step.
 *
 * Each signal becomes a pressure, 1 at its bound: the probe against
 * `latencyBudgetMs`, the served p99 against `servedLatencyFactor` × its
 * level before the run (0 at that level). The run keeps a duty cycle — the
 * share of its time spent copying — and its chunks shrink with it:
 *
 * - past the bound (pressure ≥ 1) it waits and checks again, and the duty
 *   cycle halves;
 * - from halfway (pressure ≥ 0.5) it runs but eases off before the
 *   application's p99 moves: the duty cycle shrinks by up to 30 % a reading;
 * - below halfway it regains a tenth of its time a reading, back to full speed.
 *
 * A reading is one fresh measurement; decisions between readings keep the last one.
 */
export interface PaceSignals {
  /** The slower store's probe, ms (`undefined`: not measured). */
  readonly probeMs?: number | undefined;
  /** The served write p99 of the instance that slowed most, over its level before the run (`undefined`: nobody reports). */
  readonly servedRatio?: number | undefined;
}

export type PressureReason = 'latency' | 'served-latency';

export interface PaceVerdict {
  /** Past its bound: wait, then check again. */
  readonly wait: boolean;
  /** The highest pressure (1 at its bound) and the signal it came from. */
  readonly pressure: number;
  readonly reason: PressureReason | undefined;
}

/** From this pressure on, the run eases off. */
export const EASE_FROM = 0.5;
/** The least share of its time a run keeps copying while it eases off (it still waits outright past a bound). */
export const MIN_DUTY = 0.05;
const RECOVERY = 0.1;
const EASE_STEP = 0.3;

export class PaceController {
  #duty = 1;
  #last: PaceVerdict = { wait: false, pressure: 0, reason: undefined };
  readonly #budget: number | undefined;
  readonly #factor: number;

  constructor(options: { readonly latencyBudgetMs?: number | undefined; readonly servedLatencyFactor: number }) {
    this.#budget = options.latencyBudgetMs;
    this.#factor = options.servedLatencyFactor;
  }

  /** The pressure of each signal measured, the highest first. */
  pressure(s: PaceSignals): { readonly value: number; readonly reason: PressureReason | undefined } {
    let value = 0;
    let reason: PressureReason | undefined;
    if (this.#budget !== undefined && s.probeMs !== undefined) {
      value = this.#budget > 0 ? s.probeMs / this.#budget : Infinity;
      reason = 'latency';
    }
    if (s.servedRatio !== undefined && Number.isFinite(this.#factor) && this.#factor > 1) {
      const served = Math.max(0, (s.servedRatio - 1) / (this.#factor - 1));
      if (served > value || reason === undefined) {
        value = served;
        reason = 'served-latency';
      }
    }
    return { value, reason };
  }

  /** Takes one reading: the verdict, with the duty cycle moved by it. */
  observe(s: PaceSignals): PaceVerdict {
    const { value, reason } = this.pressure(s);
    if (value >= 1) this.#duty = Math.max(MIN_DUTY, this.#duty / 2);
    else if (value >= EASE_FROM)
      this.#duty = Math.max(MIN_DUTY, this.#duty * (1 - (EASE_STEP * (value - EASE_FROM)) / (1 - EASE_FROM)));
    else this.#duty = Math.min(1, this.#duty + RECOVERY);
    this.#last = { wait: value >= 1, pressure: value, reason };
    return this.#last;
  }

  /** The last reading's verdict. */
  get last(): PaceVerdict {
    return this.#last;
  }

  /** The share of its time the run spends copying, in [MIN_DUTY, 1]. */
  get duty(): number {
    return this.#duty;
  }

  /** The pause after a chunk that took `chunkMs`, so that chunks take `duty` of the run's time. */
  pauseAfter(chunkMs: number): number {
    return this.#duty >= 1 ? 0 : Math.max(0, chunkMs) * (1 / this.#duty - 1);
  }
}
