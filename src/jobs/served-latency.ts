import type { Fleet, InstanceInfo } from '../control/fleet.js';

/** A report counts only with at least this many writes in its window (a p99 of fewer is its largest few). */
export const MIN_SERVED_SAMPLES = 50;
/** A report older than this is left out (its instance stopped heartbeating, or stopped serving). */
export const SERVED_REPORT_MAX_AGE_MS = 3000;
/** How often a run reads the fleet's reports again (each instance heartbeats every quarter second by default). */
export const SERVED_REFRESH_MS = 250;
/**
 * A run that has copied nothing for this long sees reports of the fleet
 * without it (a report covers its instance's last second, and comes with a
 * heartbeat a quarter second apart): served writes still past the bound then
 * are not the run's doing, and become its new baseline.
 */
export const SERVED_IDLE_REBASE_MS = 1500;
/** Reads of the fleet a run takes its baseline from, {@link SERVED_REFRESH_MS} apart: two seconds of reports, each an instance's last second. */
export const SERVED_BASELINE_READS = 8;

/** The served p99 of each instance with enough writes in its report, by instance id. */
export function servedLevels(instances: readonly InstanceInfo[], now: number): Map<string, number> {
  const levels = new Map<string, number>();
  for (const i of instances) {
    const s = i.servedWrites;
    if (!s || s.count < MIN_SERVED_SAMPLES || !(s.p99Ms > 0)) continue;
    if (now - i.lastSeen.getTime() > SERVED_REPORT_MAX_AGE_MS) continue;
    levels.set(i.instanceId, s.p99Ms);
  }
  return levels;
}

/**
 * How much slower the fleet serves writes now than when the run began: the
 * highest ratio of an instance's p99 to its own p99 then. An instance that
 * had nothing to report then (it started later, or served too few writes) is
 * compared with the median of the others' levels then. `undefined` where
 * nothing compares: the pace is left to the probe.
 */
export function servedRatio(
  baseline: ReadonlyMap<string, number>,
  now: ReadonlyMap<string, number>,
): number | undefined {
  if (baseline.size === 0) return undefined;
  const fleet = median([...baseline.values()]);
  let worst: number | undefined;
  for (const [id, p99] of now) {
    const ratio = p99 / (baseline.get(id) ?? fleet);
    worst = worst === undefined ? ratio : Math.max(worst, ratio);
  }
  return worst;
}

/**
 * The fleet's served-write latency as a run reads it: each instance's level
 * when the run began (`start`), then, at most every {@link SERVED_REFRESH_MS},
 * the ratio of now to then. Both sides are smoothed, and the level is no
 * lower than what the noise before the run allows: a p99 over one second
 * moves by tens of percent with nothing changed (its few slowest writes make
 * it), and a run held back by noise gains the application nothing.
 */
export class ServedFleet {
  readonly #fleet: Pick<Fleet, 'instances'>;
  readonly #migration: string;
  readonly #now: () => number;
  readonly #wall: () => number;
  #baseline: Map<string, number> = new Map();
  #readAt = -Infinity;
  #ratio: number | undefined;

  /**
   * `now`: the run's clock, for how often it reads; `wall`: epoch ms, what
   * heartbeats are stamped with.
   */
  constructor(fleet: Pick<Fleet, 'instances'>, migration: string, now: () => number, wall: () => number) {
    this.#fleet = fleet;
    this.#migration = migration;
    this.#now = now;
    this.#wall = wall;
  }

  async #levels(): Promise<Map<string, number>> {
    const now = this.#wall();
    const since = new Date(now - SERVED_REPORT_MAX_AGE_MS);
    return servedLevels(await this.#fleet.instances(this.#migration, since), now);
  }

  /**
   * Reads the levels before the run's first chunk — what later reports are
   * compared with: each instance's median over {@link SERVED_BASELINE_READS}
   * reads a quarter second apart. A fleet that reports nothing at the first
   * read costs no wait. With `preset` (levels another process read before
   * the run), those, without reading.
   */
  async start(sleep: (ms: number) => Promise<void>, preset?: Readonly<Record<string, number>>): Promise<void> {
    if (preset) {
      this.#baseline = new Map(Object.entries(preset));
      this.#readAt = -Infinity;
      this.#ratio = undefined;
      return;
    }
    const seen = new Map<string, number[]>();
    for (let read = 0; read < SERVED_BASELINE_READS; read++) {
      if (read > 0) await sleep(SERVED_REFRESH_MS);
      const levels = await this.#levels();
      if (read === 0 && levels.size === 0) break;
      for (const [id, p99] of levels) seen.set(id, [...(seen.get(id) ?? []), p99]);
    }
    this.#baseline = new Map([...seen].map(([id, list]) => [id, median(list)]));
    this.#readAt = this.#now();
    this.#ratio = undefined;
  }

  /** The levels the run compares with, by instance id (empty: nothing to compare). */
  get baseline(): ReadonlyMap<string, number> {
    return this.#baseline;
  }

  /**
   * The current ratio, read again when the last read is older than
   * {@link SERVED_REFRESH_MS} (or `force`); `fresh` when it was. `idleMs`: how long the run has copied nothing; from
   * {@link SERVED_IDLE_REBASE_MS} on, what the instances report now is what
   * they serve without the run, and it becomes their baseline (so a fleet
   * slowed by something else holds a run back for a second and a half at
   * most, not for as long as it lasts).
   */
  async ratio(force = false, idleMs = 0): Promise<{ readonly ratio: number | undefined; readonly fresh: boolean }> {
    if (this.#baseline.size === 0) return { ratio: undefined, fresh: false };
    if (!force && this.#now() - this.#readAt < SERVED_REFRESH_MS) return { ratio: this.#ratio, fresh: false };
    this.#readAt = this.#now();
    const readings = await this.#levels();
    if (idleMs >= SERVED_IDLE_REBASE_MS)
      for (const [id, p99] of readings) this.#baseline.set(id, Math.max(p99, this.#baseline.get(id) ?? 0));
    this.#ratio = servedRatio(this.#baseline, readings);
    return { ratio: this.#ratio, fresh: true };
  }
}

/** The middle value (the lower of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] as number;
}
