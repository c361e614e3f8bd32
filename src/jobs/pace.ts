import { MidairError } from '../core/errors.js';

/**
 * When a backfill may run its next chunk: inside the allowed time windows,
 * while a latency probe of the stores stays within its budget, and while the
 * replica lag (when the caller can measure it) stays under its bound. Each
 * check that fails makes the run wait — it never fails the run.
 */
export interface PaceOptions {
  /** UTC windows the backfill may run in, e.g. `[{ from: '22:00', to: '06:00' }]`. Default: always. */
  readonly windows?: readonly { readonly from: string; readonly to: string }[];
  /** Back off while a probe read of either store takes longer than this. */
  readonly latencyBudgetMs?: number;
  /** Returns the current replica lag in ms (the caller knows its topology). */
  readonly replicaLag?: () => Promise<number>;
  /** Back off while `replicaLag()` is above this. Default 1000 ms when `replicaLag` is given. */
  readonly maxReplicaLagMs?: number;
}

export type PaceReason = 'window' | 'latency' | 'replica-lag';

function minutes(hhmm: string): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new MidairError('INVALID_ARGUMENT', `a backfill window time must be HH:MM (UTC), got "${hhmm}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Whether `at` falls in one of the windows (a window may wrap past midnight). */
export function inWindow(windows: PaceOptions['windows'], at: Date): boolean {
  if (!windows || windows.length === 0) return true;
  const now = at.getUTCHours() * 60 + at.getUTCMinutes();
  return windows.some(({ from, to }) => {
    const a = minutes(from);
    const b = minutes(to);
    return a <= b ? now >= a && now < b : now >= a || now < b;
  });
}

/**
 * Checks the pace once; resolves why the next chunk must wait, or
 * `undefined` when it may run. `probe` times one cheap read of each store.
 */
export async function paceCheck(
  options: PaceOptions,
  probe: () => Promise<number>,
  now: Date = new Date(),
): Promise<PaceReason | undefined> {
  if (!inWindow(options.windows, now)) return 'window';
  if (options.latencyBudgetMs !== undefined && (await probe()) > options.latencyBudgetMs) return 'latency';
  if (options.replicaLag && (await options.replicaLag()) > (options.maxReplicaLagMs ?? 1000)) return 'replica-lag';
  return undefined;
}
