import type { ServedLatency } from '../control/fleet.js';
import { BUCKETS, bucketOf, upperEdgeMs } from '../core/latency-buckets.js';

/**
 * The latencies of the calls an instance served over a sliding window, as a
 * log-bucketed histogram (core/latency-buckets.ts) in slices (recording is O(1), with no allocation),
 * so a heartbeat can report the window's p99 and count. The window is
 * `slices` slices of `windowMs / slices` each; a report covers the current
 * slice and the whole ones before it.
 *
 * @example
 * ```ts
 * const w = new LatencyWindow(1000, 4);
 * w.record(0.8); w.record(1.3);
 * w.report() // { p99Ms: ≈1.3, count: 2 }
 * ```
 */
export class LatencyWindow {
  readonly #sliceMs: number;
  readonly #counts: Uint32Array[];
  /** The slice number (time / sliceMs) each ring slot holds, or -1 when empty. */
  readonly #sliceOf: number[];
  readonly #totals: number[];
  readonly #now: () => number;

  constructor(windowMs = 1000, slices = 4, now: () => number = () => performance.now()) {
    const n = Math.max(1, Math.floor(slices));
    this.#sliceMs = Math.max(1, windowMs / n);
    this.#counts = Array.from({ length: n }, () => new Uint32Array(BUCKETS));
    this.#sliceOf = Array.from({ length: n }, () => -1);
    this.#totals = Array.from({ length: n }, () => 0);
    this.#now = now;
  }

  /** Records one call's latency, in ms. */
  record(ms: number): void {
    const slice = Math.floor(this.#now() / this.#sliceMs);
    const slot = slice % this.#counts.length;
    const counts = this.#counts[slot] as Uint32Array;
    if (this.#sliceOf[slot] !== slice) {
      counts.fill(0);
      this.#sliceOf[slot] = slice;
      this.#totals[slot] = 0;
    }
    const b = bucketOf(ms);
    counts[b] = (counts[b] as number) + 1;
    this.#totals[slot] = (this.#totals[slot] as number) + 1;
  }

  /** The window's p99 (nearest rank, the upper edge of its bucket) and count; `undefined` when it recorded nothing. */
  report(): ServedLatency | undefined {
    const slice = Math.floor(this.#now() / this.#sliceMs);
    const live = this.#counts
      .map((counts, i) => ({ counts, total: this.#totals[i] as number, at: this.#sliceOf[i] as number }))
      .filter((s) => s.at >= 0 && s.at > slice - this.#counts.length && s.at <= slice);
    const count = live.reduce((n, s) => n + s.total, 0);
    if (count === 0) return undefined;
    const rank = Math.ceil(0.99 * count);
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      for (const s of live) seen += s.counts[b] as number;
      if (seen >= rank) return { p99Ms: upperEdgeMs(b), count };
    }
    return { p99Ms: upperEdgeMs(BUCKETS - 1), count };
  }
}
