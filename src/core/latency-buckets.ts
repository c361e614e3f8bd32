/**
 * The log-bucketed latency scale the served-write window and the capacity
 * figures share: bucket 0 holds everything under 1 µs; bucket b ≥ 1 holds
 * [2^((b-1)/16), 2^(b/16)) µs, so each is 2^(1/16) ≈ 4.4 % wide — the most a
 * percentile read from it is off by. Latencies past 2^31 µs (about 36
 * minutes) fall in the last bucket.
 */
export const PER_OCTAVE = 16;
export const BUCKETS = 31 * PER_OCTAVE + 1;

/** The bucket a latency in ms falls in (NaN and negatives in bucket 0). */
export function bucketOf(ms: number): number {
  const us = ms * 1000;
  if (!(us >= 1)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(us) * PER_OCTAVE));
}

/** A bucket's upper edge in ms: what a percentile falling in it is reported as. */
export function upperEdgeMs(b: number): number {
  return 2 ** (b / PER_OCTAVE) / 1000;
}

/**
 * A histogram as `[bucket, count]` pairs, buckets ascending and each once,
 * counts above zero: what an instance sends with its heartbeat (a few dozen
 * pairs for a real latency distribution, {@link BUCKETS} at most).
 */
export type SparseBuckets = readonly (readonly [number, number])[];

/** The sparse form of dense counts (one per bucket). */
export function sparse(counts: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let b = 0; b < counts.length; b++) {
    const n = counts[b] as number;
    if (n > 0) out.push([b, n]);
  }
  return out;
}

/** Adds sparse histograms into one set of dense counts (an exact merge: same buckets everywhere). */
export function mergeBuckets(histograms: Iterable<SparseBuckets>): Float64Array {
  const counts = new Float64Array(BUCKETS);
  for (const h of histograms) for (const [b, n] of h) counts[b] = (counts[b] as number) + n;
  return counts;
}

/**
 * The `q` quantile (0 < q ≤ 1) of counts per bucket, as the upper edge of
 * the bucket it falls in: the first bucket whose running total reaches
 * `q` × the total (nearest rank for whole counts; counts may be weights); 0
 * when they hold nothing.
 *
 * @example quantileMs(mergeBuckets([a, b]), 0.99) // the fleet's p99, ms
 */
export function quantileMs(counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let b = 0; b < counts.length; b++) total += counts[b] as number;
  if (!(total > 0)) return 0;
  // Whole counts: seen ≥ ceil(q·total) ⟺ seen ≥ q·total; the slack keeps weights from missing it by a rounding.
  const rank = q * total * (1 - 1e-12);
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    seen += counts[b] as number;
    if (seen > 0 && seen >= rank) return upperEdgeMs(b);
  }
  return upperEdgeMs(counts.length - 1);
}
