import type { TypedEvents } from './events.js';

/** Work that runs after its call returned (second writes, lazy copies, halts), kept until it settles. */
export class Background {
  readonly #work = new Set<Promise<unknown>>();
  readonly #events: TypedEvents;

  constructor(events: TypedEvents) {
    this.#events = events;
  }

  get size(): number {
    return this.#work.size;
  }

  track(work: Promise<unknown>): void {
    const p = work.catch((error: unknown) => this.#events.emit('error', { operation: 'background', error }));
    this.#work.add(p);
    void p.finally(() => this.#work.delete(p));
  }

  /** Waits for the work tracked now (more may be tracked meanwhile). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#work]);
  }
}
