import type { BackfillProgress } from '../src/index.js';

/** A progress report as the run's callback got it, with when (ms after the run started). */
export type ProgressSample = BackfillProgress & { readonly atMs: number };

/** How far the time left shown at one point of the copy was from the time it really took. */
export interface EtaPoint {
  /** The share shown when it was read (whole percent). */
  readonly percent: number;
  readonly atMs: number;
  /** What the progress said was left. */
  readonly etaMs: number | undefined;
  /** What rows left ÷ this run's average rate would have said (the estimate before the change-aware one). */
  readonly plainEtaMs: number | undefined;
  /** What was really left of the copy (to its 100 % report). */
  readonly actualMs: number;
}

/**
 * The time left shown at the first report at or past each share of the copy
 * (`shares` in percent), against what really followed. `samples` end with the
 * copy's last report (its 100 %).
 */
export function etaAccuracy(samples: readonly ProgressSample[], shares: readonly number[]): EtaPoint[] {
  const last = samples.at(-1);
  const first = samples[0];
  if (!last || !first) return [];
  return shares.flatMap((share) => {
    const s = samples.find((x) => x.total > 0 && (x.rowsDone * 100) / x.total >= share);
    if (!s || s === last) return [];
    const plainTotal = Math.max(first.total, s.rowsDone);
    return [
      {
        percent: Math.floor((s.rowsDone * 100) / s.total),
        atMs: s.atMs,
        etaMs: s.etaMs,
        plainEtaMs: s.rowsPerSecond > 0 ? ((plainTotal - s.rowsDone) * 1000) / s.rowsPerSecond : undefined,
        actualMs: last.atMs - s.atMs,
      },
    ];
  });
}

const off = (eta: number | undefined, actual: number): string =>
  eta === undefined
    ? 'unknown'
    : `${(eta / 1000).toFixed(1)} s (${eta >= actual ? '+' : '−'}${Math.abs(((eta - actual) * 100) / Math.max(actual, 1)).toFixed(0)} %)`;

/** One line per point: `at 10 %: 12.0 s left shown … really 13.1 s`. */
export function etaText(points: readonly EtaPoint[]): string {
  return points
    .map(
      (p) =>
        `at ${p.percent} % (${(p.atMs / 1000).toFixed(1)} s in): shown ${off(p.etaMs, p.actualMs)}, rows left ÷ average rate ${off(p.plainEtaMs, p.actualMs)}, really ${(p.actualMs / 1000).toFixed(1)} s`,
    )
    .join('; ');
}
