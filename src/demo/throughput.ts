/**
 * Served throughput, the way the demo's verdict judges it: operations
 * counted per 100 ms while the clients ran, and every one-second window
 * (sliding in 100 ms steps) measured against the old-only baseline — a phase
 * passes when its slowest second still serves at least a share of it. The
 * baseline is old-only's own slowest second: slowest against slowest, so a
 * machine busy with other work weighs on both alike.
 */
import type { OpSample } from './load.js';

export const BUCKET_MS = 100;
export const WINDOW_MS = 1000;
/** The share of the old-only baseline every phase's slowest second must serve. */
export const FLOOR_SHARE = 0.5;

/** Operations started in each 100 ms from `startMs` (ms since the demo began), while the clients ran. */
export interface ServedSeries {
  readonly bucketMs: number;
  readonly startMs: number;
  readonly counts: readonly number[];
}

/** A stretch of one fleet-wide phase (ms since the demo began). */
export interface PhasePeriod {
  readonly phase: string;
  readonly fromMs: number;
  readonly toMs: number;
}

export interface PhaseThroughput {
  readonly phase: string;
  /** The fewest operations served in any one-second window overlapping the phase. */
  readonly minOpsPerSecond: number;
  /** That, as a share of the old-only baseline. */
  readonly shareOfBaseline: number;
  readonly ok: boolean;
}

export interface ThroughputVerdict {
  readonly ok: boolean;
  readonly windowMs: number;
  readonly floorShare: number;
  /** The fewest operations old-only served in a one-second window inside it, before any migration work. */
  readonly baselineOpsPerSecond: number;
  /** Old-only's mean operations per second, for comparison. */
  readonly oldOnlyMeanOpsPerSecond: number;
  readonly phases: readonly PhaseThroughput[];
  readonly periods: readonly PhasePeriod[];
  readonly served: ServedSeries;
}

/** The whole 100 ms buckets between `fromMs` and `toMs`, each with the operations that started in it. */
export function servedSeries(samples: readonly OpSample[], fromMs: number, toMs: number): ServedSeries {
  const first = Math.ceil(fromMs / BUCKET_MS);
  const counts = new Array<number>(Math.max(0, Math.floor(toMs / BUCKET_MS) - first)).fill(0);
  for (const s of samples) {
    const b = Math.floor(s.at / BUCKET_MS) - first;
    if (b >= 0 && b < counts.length) counts[b] = (counts[b] ?? 0) + 1;
  }
  return { bucketMs: BUCKET_MS, startMs: first * BUCKET_MS, counts };
}

/** Operations served in each one-second window of the series that overlaps [fromMs, toMs). */
export function windowsOverlapping(series: ServedSeries, fromMs: number, toMs: number): number[] {
  const width = Math.round(WINDOW_MS / series.bucketMs);
  const out: number[] = [];
  let sum = 0;
  series.counts.forEach((c, i) => {
    sum += c;
    if (i >= width) sum -= series.counts[i - width] ?? 0;
    const start = series.startMs + (i + 1 - width) * series.bucketMs;
    if (i + 1 >= width && start < toMs && start + WINDOW_MS > fromMs) out.push(sum);
  });
  return out;
}

/** The fewest operations in a one-second window overlapping [fromMs, toMs); 0 where none was measured. */
export function slowestSecond(series: ServedSeries, fromMs: number, toMs: number): number {
  const windows = windowsOverlapping(series, fromMs, toMs);
  return windows.length === 0 ? 0 : Math.min(...windows);
}

/** Over the whole buckets inside the periods: the mean per second, and the slowest one-second window wholly inside one. */
function inside(series: ServedSeries, periods: readonly PhasePeriod[]): { mean: number; slowest: number } {
  const within = (from: number, to: number): boolean => periods.some((p) => from >= p.fromMs && to <= p.toMs);
  let ops = 0;
  let buckets = 0;
  series.counts.forEach((c, i) => {
    const from = series.startMs + i * series.bucketMs;
    if (within(from, from + series.bucketMs)) {
      ops += c;
      buckets++;
    }
  });
  const width = Math.round(WINDOW_MS / series.bucketMs);
  const windows: number[] = [];
  for (let i = 0; i + width <= series.counts.length; i++) {
    const from = series.startMs + i * series.bucketMs;
    if (within(from, from + WINDOW_MS)) windows.push(series.counts.slice(i, i + width).reduce((a, b) => a + b, 0));
  }
  return {
    mean: buckets === 0 ? 0 : Math.round((ops * 1000) / (buckets * series.bucketMs)),
    slowest: windows.length === 0 ? 0 : Math.min(...windows),
  };
}

/** Each phase's slowest second against the old-only baseline; fails without a baseline. */
export function throughputVerdict(
  series: ServedSeries,
  periods: readonly PhasePeriod[],
  floorShare = FLOOR_SHARE,
): ThroughputVerdict {
  const old = inside(
    series,
    periods.filter((p) => p.phase === 'old-only'),
  );
  const baseline = old.slowest;
  const names = [...new Set(periods.map((p) => p.phase))];
  const phases = names.map((phase): PhaseThroughput => {
    const windows = periods
      .filter((p) => p.phase === phase)
      .flatMap((p) => windowsOverlapping(series, p.fromMs, p.toMs));
    const min = windows.length === 0 ? 0 : Math.min(...windows);
    const share = baseline > 0 ? min / baseline : 0;
    return {
      phase,
      minOpsPerSecond: min,
      shareOfBaseline: Math.round(share * 1000) / 1000,
      ok: baseline > 0 && min >= floorShare * baseline,
    };
  });
  return {
    ok: baseline > 0 && phases.every((p) => p.ok),
    windowMs: WINDOW_MS,
    floorShare,
    baselineOpsPerSecond: baseline,
    oldOnlyMeanOpsPerSecond: old.mean,
    phases,
    periods,
    served: series,
  };
}

/** Stretches of each phase from the moments it was entered; the last runs to `endMs`. */
export function phasePeriods(changes: readonly { atMs: number; phase: string }[], endMs: number): PhasePeriod[] {
  const periods: PhasePeriod[] = [];
  changes.forEach((c, i) => {
    const toMs = changes[i + 1]?.atMs ?? endMs;
    const last = periods.at(-1);
    if (last && last.phase === c.phase) periods[periods.length - 1] = { ...last, toMs };
    else periods.push({ phase: c.phase, fromMs: c.atMs, toMs });
  });
  return periods;
}
