/**
 * A read shared by whoever asks while it runs, and kept for `cacheMs` after
 * it ends: however many collections come at once (one scrape collects every
 * gauge, several scrapers may come), the store is read once at a time and at
 * most about once per `cacheMs`. Load only: no answer depends on the timing.
 */
export class CachedRead<T> {
  #pending: Promise<T> | undefined;
  #done: { readonly at: number; readonly value: T } | undefined;

  constructor(
    readonly read: () => Promise<T>,
    readonly cacheMs: number,
    readonly now: () => number = () => Date.now(),
  ) {}

  async get(): Promise<T> {
    if (this.#pending) return this.#pending;
    const done = this.#done;
    if (done && this.now() - done.at < this.cacheMs) return done.value;
    const pending = this.read().then(
      (value) => {
        this.#done = { at: this.now(), value };
        this.#pending = undefined;
        return value;
      },
      (error: unknown) => {
        this.#pending = undefined;
        throw error;
      },
    );
    this.#pending = pending;
    return pending;
  }
}
