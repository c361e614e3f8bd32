import type { ControlStore, RangeLease } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import { scanKeysOf, type Store } from '../core/store.js';
import { CHECKPOINTS, loadCheckpoint, type BackfillControl } from '../control/checkpoints.js';
import type { WaitReason } from './pace.js';
import { RowBudget } from './row-budget.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import { sleep } from '../core/sleep.js';

/** The operator's settings for the run `name` (pause, a rows/s ceiling); none saved, none set. */
export async function readControl(control: ControlStore, migration: string, name: string): Promise<BackfillControl> {
  return (await loadCheckpoint(control, migration, CHECKPOINTS.backfillControl(name))) ?? {};
}

export async function firstPage<K extends Key, E extends object>(
  store: Store<K, E>,
  after: K | undefined,
  size: number,
  signal?: AbortSignal,
  through?: K,
): Promise<E[]> {
  for await (const chunk of store.scan({ after, through, chunkSize: size, signal })) return chunk;
  return [];
}

/** {@link firstPage}, keys only (read key-only where the store can). */
export async function firstKeys<K extends Key, E extends object>(
  store: Store<K, E>,
  after: K | undefined,
  size: number,
  signal?: AbortSignal,
  through?: K,
): Promise<K[]> {
  for await (const chunk of scanKeysOf(store, { after, through, chunkSize: size, signal })) return chunk;
  return [];
}

/** What paces a job's workers: a chunk sizer each, and one rows/s budget they all take from. */
export interface JobPacing {
  /** One per worker: each sizes its chunks by how long its own took. */
  readonly throttles: Throttle[];
  /** The job's ceiling, shared by its workers (one budget, not one per worker). */
  readonly budget: RowBudget;
  /**
   * Checked before every step: reads the operator's settings (pause, a new
   * ceiling) from the control store and applies them, and — for a job over
   * leased ranges — this process's share of the ceiling.
   */
  readonly paused: () => Promise<boolean>;
}

/** How often a process counts the processes holding leases on its job (to take its share of the ceiling). */
const SHARE_REFRESH_MS = 1000;

/**
 * The pacing of the job `name`. With `leases` (a job over leased ranges,
 * which several processes may share), the ceiling is split evenly between the
 * processes holding a live lease on the job's ranges, counted again every
 * second: one process takes all of it, two take half each.
 */
export function jobPacing(
  control: ControlStore,
  migration: string,
  name: string,
  workers: number,
  options: ThrottleOptions,
  leases?: { readonly owner: string; readonly now?: () => number },
): JobPacing {
  const { maxRowsPerSecond, ...sizing } = options;
  const throttles = Array.from({ length: workers }, () => new Throttle(sizing));
  const now = leases?.now ?? ((): number => Date.now());
  const budget = new RowBudget(maxRowsPerSecond, now);
  let ceiling = maxRowsPerSecond;
  let processes = 1;
  let counted = -Infinity;
  return {
    throttles,
    budget,
    paused: async () => {
      const settings = await readControl(control, migration, name);
      if (settings.maxRowsPerSecond !== undefined) ceiling = settings.maxRowsPerSecond;
      if (leases && ceiling !== undefined && now() - counted >= SHARE_REFRESH_MS) {
        counted = now();
        processes = leaseHolders(await control.ranges(migration, name), leases.owner, counted);
      }
      budget.rowsPerSecond = ceiling === undefined ? undefined : ceiling / processes;
      return settings.paused === true;
    },
  };
}

/** The process part of a lease's owner (`host:pid:id#2` → `host:pid:id`). */
export function leaseProcess(owner: string): string {
  const hash = owner.lastIndexOf('#');
  return hash < 0 ? owner : owner.slice(0, hash);
}

/** Processes holding a live lease on unfinished ranges, this one counted whether it holds one yet or not. */
function leaseHolders(ranges: readonly RangeLease[], self: string, now: number): number {
  const holders = new Set([self]);
  for (const r of ranges)
    if (!r.complete && r.owner !== undefined && r.leasedUntil.getTime() > now) holders.add(leaseProcess(r.owner));
  return holders.size;
}

/**
 * Takes the next chunk's rows from the job's budget and waits until they may
 * be read; resolves the chunk's size (the throttle's, capped at the budget's
 * burst) and how to give back the rows the chunk did not read.
 */
export async function budgetedChunk(
  budget: RowBudget,
  throttle: Throttle,
  signal?: AbortSignal,
  waited?: (reason: WaitReason, ms: number) => void,
): Promise<{ readonly size: number; readonly read: (rows: number) => void }> {
  const size = budget.chunk(throttle.chunkSize);
  const taken = budget.take(size);
  if (taken.waitMs > 0) {
    const t0 = performance.now();
    await sleep(taken.waitMs, signal);
    waited?.('ceiling', performance.now() - t0);
  }
  return { size, read: (rows) => taken.giveBack(size - rows) };
}
