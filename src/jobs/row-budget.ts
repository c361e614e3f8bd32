/**
 * One rows-per-second budget for a whole job, shared by all its workers (a
 * token bucket). A worker takes the rows of its next chunk before it reads
 * them and waits as long as the budget says. However many workers share it,
 * the rows started in any window of T seconds stay within
 * `rowsPerSecond × T + burst`, where the burst is a quarter second of the
 * budget and also caps a chunk. Rows taken and not read (a range's short
 * last chunk) go back only while no other chunk was taken since: the chunks
 * taken after it already wait as if it had read them all, and giving the rows
 * back then would let the next one start too close to them.
 *
 * @example
 * ```ts
 * const budget = new RowBudget(400);          // shared by every worker of the run
 * const size = budget.chunk(throttle.chunkSize);
 * const taken = budget.take(size);
 * await sleep(taken.waitMs);                  // 0 while within the budget
 * taken.giveBack(size - (await copy(size)));
 * ```
 */
/** Rows taken from a {@link RowBudget}. */
export interface Taken {
  readonly waitMs: number;
  /** Gives back rows taken and not read (only while no other take came after this one). */
  giveBack(unread: number): void;
}

export class RowBudget {
  #rate: number | undefined;
  #tokens = 0;
  #at: number;
  /** How many takes so far: only the latest may give rows back. */
  #taken = 0;
  readonly #now: () => number;

  /** `undefined`: no ceiling. `now` is the clock (ms), replaceable in tests. */
  constructor(rowsPerSecond: number | undefined, now: () => number = () => Date.now()) {
    this.#now = now;
    this.#at = now();
    this.#rate = valid(rowsPerSecond);
    this.#tokens = this.burst;
  }

  get rowsPerSecond(): number | undefined {
    return this.#rate;
  }

  /** A new ceiling (an operator's `backfill rate`, or this process's share changing); rows already taken stay taken. */
  set rowsPerSecond(rate: number | undefined) {
    const next = valid(rate);
    if (next === this.#rate) return;
    if (this.#rate === undefined) {
      this.#rate = next;
      this.#at = this.#now();
      this.#tokens = this.burst;
      return;
    }
    this.#refill();
    this.#rate = next;
    this.#tokens = Math.min(this.#tokens, this.burst);
  }

  /** The most rows one chunk may take at once: a quarter second of the budget (unlimited without a ceiling). */
  get burst(): number {
    return this.#rate === undefined ? Infinity : Math.max(1, Math.round(this.#rate / 4));
  }

  /** The size of the next chunk: `size`, capped at the burst. */
  chunk(size: number): number {
    return Math.max(1, Math.min(size, this.burst));
  }

  /** Takes `rows` from the budget: how many ms to wait before reading them (0: at once), and how to give back what was not read. */
  take(rows: number): Taken {
    if (this.#rate === undefined) return { waitMs: 0, giveBack: () => undefined };
    this.#refill();
    this.#tokens -= rows;
    const ticket = ++this.#taken;
    return {
      waitMs: this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.#rate),
      giveBack: (unread) => {
        if (unread <= 0 || ticket !== this.#taken || this.#rate === undefined) return;
        this.#refill();
        this.#tokens = Math.min(this.burst, this.#tokens + unread);
      },
    };
  }

  #refill(): void {
    const now = this.#now();
    if (this.#rate !== undefined && now > this.#at)
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) * this.#rate) / 1000);
    this.#at = Math.max(this.#at, now);
  }
}

function valid(rate: number | undefined): number | undefined {
  return rate !== undefined && Number.isFinite(rate) && rate > 0 ? rate : undefined;
}
