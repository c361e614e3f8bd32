import type { PhaseState } from '../control/control-store.js';
import { percent } from '../core/format.js';
import { HALT_TARGET, PHASE_RULES, type Phase, type Side } from '../core/phases.js';
import type { TypedEvents } from './events.js';
import type { AutoHaltOptions, MigrationStats } from './options.js';
import { RateWindow } from './rate-window.js';

export interface AutoHaltDeps {
  readonly options: AutoHaltOptions | false | undefined;
  /** The phase served now, if known. */
  readonly phase: () => PhaseState | undefined;
  /** Moves the fleet from `from` to `to` (refused if the phase is no longer `from`). */
  readonly halt: (from: Phase, to: Phase, reason: string) => Promise<unknown>;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  readonly track: (work: Promise<unknown>) => void;
}

/**
 * Auto-halt: the non-authoritative store's failure rate and the shadow
 * mismatch rate, measured over a window; past a limit the fleet is moved
 * back to where the old store serves alone.
 */
export class AutoHalt {
  readonly #d: AutoHaltDeps;
  readonly #halt: Required<AutoHaltOptions> | undefined;
  readonly #secondaryWindow: RateWindow;
  readonly #mismatchWindow: RateWindow;
  #halting = false;
  /** After a halt, no second one for a window: the failures already counted must not walk the phase further back. */
  #haltQuietUntil = 0;

  constructor(deps: AutoHaltDeps) {
    this.#d = deps;
    const options = deps.options;
    this.#halt =
      options === false
        ? undefined
        : { windowMs: 60_000, maxErrorRate: 0.2, maxMismatchRate: 0.05, minSamples: 50, ...options };
    this.#secondaryWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
    this.#mismatchWindow = new RateWindow(this.#halt?.windowMs ?? 60_000);
  }

  /** A call on the non-authoritative store ended (`failed` or not). */
  recordSecondary(failed: boolean): void {
    this.#secondaryWindow.record(failed);
  }

  /** A shadow comparison ended (`mismatch` or not). */
  recordComparison(mismatch: boolean): void {
    this.#mismatchWindow.record(mismatch);
  }

  /** Starts both windows afresh (a new phase is served). */
  reset(): void {
    this.#secondaryWindow.reset();
    this.#mismatchWindow.reset();
  }

  check(): void {
    const halt = this.#halt;
    const state = this.#d.phase();
    if (!halt || !state || this.#halting || Date.now() < this.#haltQuietUntil) return;
    const target = HALT_TARGET[state.phase];
    if (!target) return;
    const reason = this.#reason(halt, state);
    if (!reason) return;
    this.#halting = true;
    const from = state.phase;
    const work = this.#d
      .halt(from, target, reason)
      .then(() => {
        this.#d.stats.halts++;
        this.#d.events.emit('halted', { from, to: target, reason });
      })
      .catch((error: unknown) => this.#d.events.emit('error', { operation: 'auto-halt', error }))
      .finally(() => {
        this.#haltQuietUntil = Date.now() + halt.windowMs;
        this.reset();
        this.#halting = false;
      });
    this.#d.track(work);
  }

  #reason(halt: Required<AutoHaltOptions>, state: PhaseState): string | undefined {
    const other: Side = PHASE_RULES[state.phase].authoritative === 'old' ? 'new' : 'old';
    const windowS = Math.round(halt.windowMs / 1000);
    const errors = this.#secondaryWindow.rate();
    const mismatches = this.#mismatchWindow.rate();
    if (errors.total >= halt.minSamples && errors.rate > halt.maxErrorRate) {
      return `the ${other} store failed ${errors.failed} of ${errors.total} calls in ${windowS} s (${percent(errors.rate, 1)}, limit ${percent(halt.maxErrorRate, 1)})`;
    }
    if (mismatches.total >= halt.minSamples && mismatches.rate > halt.maxMismatchRate) {
      return `${mismatches.failed} of ${mismatches.total} shadow comparisons mismatched in ${windowS} s (${percent(mismatches.rate, 1)}, limit ${percent(halt.maxMismatchRate, 1)})`;
    }
    return undefined;
  }
}
