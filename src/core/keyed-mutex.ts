/**
 * One async lock per key: holders of the same key run one after another,
 * different keys do not wait for each other. Entries are dropped when free.
 *
 * @example
 * ```ts
 * const release = await locks.acquire('user:1');
 * try { … } finally { release(); }
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  async acquire(id: string): Promise<() => void> {
    const previous = this.#tails.get(id) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => held);
    this.#tails.set(id, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    };
  }
}
