/**
 * Counts events and failures over a sliding time window, in one-second
 * buckets, for auto-halt's error and mismatch rates.
 *
 * @example
 * ```ts
 * const w = new RateWindow(60_000);
 * w.record(false); w.record(true);
 * w.rate() // { total: 2, failed: 1, rate: 0.5 }
 * ```
 */
export class RateWindow {
  readonly #windowMs: number;
  readonly #buckets = new Map<number, { total: number; failed: number }>();
  readonly #now: () => number;

  constructor(windowMs: number, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  record(failed: boolean): void {
    const second = Math.floor(this.#now() / 1000);
    const b = this.#buckets.get(second) ?? { total: 0, failed: 0 };
    b.total++;
    if (failed) b.failed++;
    this.#buckets.set(second, b);
    if (this.#buckets.size > this.#windowMs / 1000 + 2) this.#prune();
  }

  #prune(): void {
    const oldest = Math.floor((this.#now() - this.#windowMs) / 1000);
    for (const s of this.#buckets.keys()) if (s < oldest) this.#buckets.delete(s);
  }

  rate(): { total: number; failed: number; rate: number } {
    this.#prune();
    let total = 0;
    let failed = 0;
    for (const b of this.#buckets.values()) {
      total += b.total;
      failed += b.failed;
    }
    return { total, failed, rate: total === 0 ? 0 : failed / total };
  }

  reset(): void {
    this.#buckets.clear();
  }
}
