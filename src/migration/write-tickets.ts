import type { PhaseState } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { MigrationStats } from './options.js';
import type { PhaseFollower } from './phase-follower.js';
import type { WriteTicket } from './repository-ports.js';

/** Writes running, per phase version they began under. */
export class InFlight {
  readonly #byVersion = new Map<number, number>();

  add(version: number): void {
    this.#byVersion.set(version, (this.#byVersion.get(version) ?? 0) + 1);
  }

  remove(version: number): void {
    const n = (this.#byVersion.get(version) ?? 1) - 1;
    if (n <= 0) this.#byVersion.delete(version);
    else this.#byVersion.set(version, n);
  }

  /** Whether a write begun under a version below `version` still runs. */
  olderThan(version: number): boolean {
    for (const [v, n] of this.#byVersion) if (v < version && n > 0) return true;
    return false;
  }

  total(): number {
    let inFlight = 0;
    for (const n of this.#byVersion.values()) inFlight += n;
    return inFlight;
  }
}

export interface WriteTicketDeps {
  readonly name: string;
  readonly pauseTimeoutMs: number;
  readonly follower: PhaseFollower;
  readonly inFlight: InFlight;
  readonly stats: MigrationStats;
}

/**
 * Write tickets: a write waits out a cutover freeze, then counts under the
 * phase it runs with until it ends, so the instance acknowledges a newer
 * phase only once every write begun under an older one finished.
 */
export class WriteTickets {
  readonly #d: WriteTicketDeps;

  constructor(deps: WriteTicketDeps) {
    this.#d = deps;
  }

  async begin(): Promise<WriteTicket> {
    const { follower, inFlight } = this.#d;
    const deadline = Date.now() + this.#d.pauseTimeoutMs;
    let state: PhaseState;
    for (;;) {
      state = await follower.current();
      if (state.writesPaused) {
        if (Date.now() >= deadline)
          throw new MidairError(
            'TIMEOUT',
            `migration ${this.#d.name}: writes stayed paused for the cutover longer than ${this.#d.pauseTimeoutMs} ms`,
          );
        await follower.waitForChange(deadline);
        continue;
      }
      // A newer phase may have arrived (and been acknowledged) while current() resolved: a write must
      // count under the phase it runs with, or the fleet could move on without waiting for it.
      if (state.version === follower.known?.version) break;
    }
    const v = state.version;
    inFlight.add(v);
    this.#d.stats.writes++;
    let ended = false;
    return {
      state,
      end: () => {
        if (ended) return;
        ended = true;
        inFlight.remove(v);
        follower.maybeAck();
      },
    };
  }
}
