import { MidairError } from '../core/errors.js';

/**
 * When a backfill may run its next chunk, and how hard it may push: inside
 * the allowed time windows, while a probe of the stores stays within its
 * budget, while the writes the application instances serve stay close to
 * how fast they were before the run began, and while the replica lag (when
 * the caller can measure it) stays under its bound. A check that fails makes
 * the run wait, and one that nears its bound makes the run ease off; none
 * ever fails the run. Only the pace rests on these timings, never safety.
 */
export interface PaceOptions {
  /** UTC windows the backfill may run in, e.g. `[{ from: '22:00', to: '06:00' }]`. Default: always. */
  readonly windows?: readonly { readonly from: string; readonly to: string }[];
  /**
   * Back off while a probe of either store takes longer than this, ms. The
   * probe is a tiny write that commits (the store's `commitProbe`: it waits
   * for the log flush the application's writes wait for), or a point read on
   * a store without one. From half the budget on, the run eases off: shorter
   * chunks and a pause after each.
   */
  readonly latencyBudgetMs?: number;
  /**
   * Back off while the p99 latency of the writes the application instances
   * serve (each reports its last second with its heartbeat) is above this
   * many times what it was when the run began; ease off from halfway there.
   * Instances that report nothing (too few writes, or an older midair) leave
   * the pace to the probe. `Infinity` turns it off. Default 1.2.
   */
  readonly servedLatencyFactor?: number;
  /**
   * The fleet's served-write levels before the run began (p99 ms by
   * instance id), where another process measured them: the jobs of a queued
   * run carry the levels its starting process read, so each worker compares
   * with the fleet before the run, not with a fleet the run already loads.
   */
  readonly servedBaseline?: Readonly<Record<string, number>>;
  /** Returns the current replica lag in ms (the caller knows its topology). */
  readonly replicaLag?: () => Promise<number>;
  /** Back off while `replicaLag()` is above this. Default 1000 ms when `replicaLag` is given. */
  readonly maxReplicaLagMs?: number;
}

/** Why a run waits: outside its windows, a slow probe, served writes slower than before it began, lagging replicas. */
export type PaceReason = 'window' | 'latency' | 'served-latency' | 'replica-lag';

/** Every reason a run's time went on waiting: the pace's, its rows/s ceiling, and an operator's pause. */
export type WaitReason = PaceReason | 'ceiling' | 'paused';

/** How long a run waited, ms, for each reason (absent: never). */
export type WaitedMs = Partial<Record<WaitReason, number>>;

export const DEFAULT_SERVED_LATENCY_FACTOR = 1.2;

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
