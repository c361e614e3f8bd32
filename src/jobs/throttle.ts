/**
 * Chunk sizing and pacing for long copies: the chunk size follows an
 * exponentially weighted average of the measured rate so each chunk takes
 * about `targetChunkMs` (pt-table-checksum's method), and a rows/s ceiling is
 * kept by sleeping after a chunk that went faster.
 *
 * @example
 * ```ts
 * const t = new Throttle({ chunkSize: 1000, targetChunkMs: 250, maxRowsPerSecond: 20_000 });
 * const pause = t.record(1000, 40); // rows, ms → how long to wait before the next chunk
 * t.chunkSize                       // the next chunk's size
 * ```
 */
export interface ThrottleOptions {
  readonly chunkSize?: number;
  readonly minChunkSize?: number;
  readonly maxChunkSize?: number;
  /** Aim for chunks that take this long; `0` keeps the chunk size fixed. Default 250 ms. */
  readonly targetChunkMs?: number;
  readonly maxRowsPerSecond?: number;
}

export class Throttle {
  #size: number;
  #rate: number | undefined;
  readonly #min: number;
  readonly #max: number;
  readonly #target: number;
  maxRowsPerSecond: number | undefined;

  constructor(options: ThrottleOptions = {}) {
    this.#min = Math.max(1, options.minChunkSize ?? 10);
    this.#max = Math.max(this.#min, options.maxChunkSize ?? 10_000);
    this.#size = clamp(options.chunkSize ?? 1000, this.#min, this.#max);
    this.#target = options.targetChunkMs ?? 250;
    this.maxRowsPerSecond = options.maxRowsPerSecond;
  }

  /**
   * The share of its size a chunk takes while the run eases off (the pace's
   * duty cycle, in (0, 1]): shorter chunks hold their locks, the CPU and the
   * log for less time at once. Never below `minChunkSize`.
   */
  scale = 1;

  get chunkSize(): number {
    if (this.scale >= 1) return this.#size;
    return clamp(this.#size * Math.max(0, this.scale), this.#min, this.#max);
  }

  /** Rows per second, smoothed (undefined before the first chunk). */
  get rate(): number | undefined {
    return this.#rate;
  }

  /** Halves the chunk size (a store is slow: ease off before the rate shows it). */
  shrink(): void {
    this.#size = clamp(this.#size / 2, this.#min, this.#max);
  }

  /** Records a chunk; resolves how long to wait before the next one. */
  record(rows: number, ms: number): number {
    if (rows > 0) {
      const rate = (rows * 1000) / Math.max(ms, 1);
      this.#rate = this.#rate === undefined ? rate : 0.75 * this.#rate + 0.25 * rate;
      if (this.#target > 0) this.#size = clamp(Math.round((this.#rate * this.#target) / 1000), this.#min, this.#max);
    }
    if (this.maxRowsPerSecond !== undefined && this.maxRowsPerSecond > 0) {
      const minimum = (rows * 1000) / this.maxRowsPerSecond;
      if (this.#target > 0)
        this.#size = Math.min(
          this.#size,
          Math.max(this.#min, Math.round((this.maxRowsPerSecond * this.#target) / 1000)),
        );
      return Math.max(0, minimum - ms);
    }
    return 0;
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}
