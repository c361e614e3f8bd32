import type { Key } from '../core/keys.js';
import type { TypedEvents } from './events.js';
import type { Lifecycle } from './lifecycle.js';
import type { PhaseFollower } from './phase-follower.js';
import type { Repairer } from './repairer.js';

/** One round of this instance's repairer per tick: claims its own entries, holds no write ticket (its writes are fenced instead). */
export class RepairTick<K extends Key, E extends object> {
  readonly #life: Lifecycle;
  readonly #follower: PhaseFollower;
  readonly #repairer: Repairer<K, E>;
  readonly #events: TypedEvents;
  #repairing = false;

  constructor(life: Lifecycle, follower: PhaseFollower, repairer: Repairer<K, E>, events: TypedEvents) {
    this.#life = life;
    this.#follower = follower;
    this.#repairer = repairer;
    this.#events = events;
  }

  async tick(): Promise<void> {
    const state = this.#follower.known;
    if (!this.#life.serving || !state || this.#repairing) return; // never two rounds at once
    this.#repairing = true;
    try {
      if (state.writesPaused) return;
      await this.#repairer.round(state);
    } catch (error) {
      this.#events.emit('error', { operation: 'repair', error });
    } finally {
      this.#repairing = false;
    }
  }
}
