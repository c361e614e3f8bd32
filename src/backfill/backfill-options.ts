import type { Fence } from '../core/store.js';
import type { RangeQueue } from '../jobs/range-queue.js';
import type { ThrottleOptions } from '../jobs/throttle.js';
import type { PaceOptions, PaceReason, WaitedMs } from '../jobs/pace.js';
import type { KeyMappings } from './key-check.js';
import type { RunProgress } from '../jobs/run-progress.js';
import type { WaitNotice } from '../core/waits.js';

/**
 * A backfill's copy as it goes (see {@link RunProgress}): a resumed run
 * starts from the rows earlier runs copied, the rate is this run's alone, and
 * the last report of a copy that reached the end is 100 %.
 */
export interface BackfillProgress extends RunProgress {
  /** The size of the next chunk. */
  readonly chunkSize: number;
  /** How long this run waited so far, ms, by reason (see {@link BackfillResult.waitedMs}). */
  readonly waitedMs: WaitedMs;
}

export interface BackfillOptions<E> extends ThrottleOptions, PaceOptions {
  /** The checkpoint's name: runs with the same name resume each other. Default `backfill` (`sweep` for a sweep). */
  readonly name?: string;
  /** Start from the first key, ignoring a saved checkpoint. */
  readonly restart?: boolean;
  /** Changes each entity on its way (the user's code; a throw sends the row to the dead letters). */
  readonly transform?: (entity: E) => E | Promise<E>;
  /** What a row that cannot be copied does: go to the dead letters and the run goes on (default), or stop the run. */
  readonly onRowError?: 'dead-letter' | 'stop';
  /** Copy only keys that new does not have (a sweep after lazy migration). */
  readonly missingOnly?: boolean;
  /**
   * With `missingOnly`: a key new holds a tombstone for is never copied,
   * whatever the versions. Set by a sweep where new is authoritative: a
   * delete there is the latest word, and old cannot be newer.
   */
  readonly tombstonesWin?: boolean;
  /**
   * How a chunk is written. `sync` (default): under new's key locks, the
   * chunk's keys are read again from old and written as read — correct
   * whatever the entities' versions, even over rows new got from an earlier
   * write. `conditional`: the scanned rows are written with the conditional
   * bulk write (one read of old instead of two); correct only where every
   * write to old raises the version (a version assigned by the database), and
   * insert-only without a version column.
   */
  readonly mode?: 'sync' | 'conditional';
  readonly signal?: AbortSignal;
  /**
   * Set by the migration: the phase version every write of the run carries,
   * so a run that stalls past a phase change cannot land its writes
   * (docs/decisions/0007).
   */
  readonly fence?: Fence;
  readonly onProgress?: (progress: BackfillProgress) => void;
  /** Called when the run waits: outside its time windows, stores too slow, served writes slower than before it, replicas lagging. */
  readonly onWait?: (reason: PaceReason) => void;
  /**
   * Copy with this many workers in this process. Above 1, the key space is
   * split at sampled real keys into ranges leased through the control store,
   * so several processes (on several machines) share one backfill: a range
   * whose worker dies is taken over when its lease runs out. Default 1.
   * `maxRowsPerSecond` is one budget for all the workers of the run, split
   * evenly between the processes holding leases on it.
   */
  readonly workers?: number;
  /**
   * Hand the copy pass to worker processes through a distributed queue
   * (`midair/queue`: BullMQ on Redis or PostgreSQL) instead of copying here:
   * the key space is split into `ranges` ranges (default 64), one job each,
   * and this process follows their progress through the control store, then
   * runs the prune pass itself. `workers` does not apply.
   */
  readonly queue?: RangeQueue;
  /** Called once for each range another process holds while this one has nothing else to copy (with the holder and when its lease runs out). */
  readonly onRangeWait?: (notice: WaitNotice) => void;
  /** Ranges to split the key space into (parallel runs). Default 4 × workers. */
  readonly ranges?: number;
  /** How long a range lease lasts without renewal (renewed after each chunk). Default 30 s. */
  readonly leaseMs?: number;
  /** This process's name on its leases. Default host:pid:random. */
  readonly owner?: string;
  /**
   * The prune pass deletes keys new holds and old lacks. Before it deletes
   * anything it counts them: more than this share of new's rows stops the run
   * (nothing deleted) unless `allowDeletes`. Default 0.01.
   */
  readonly maxDeleteShare?: number;
  /** Let the prune delete more than `maxDeleteShare` of new. Default false. */
  readonly allowDeletes?: boolean;
  /** Both mappings: before anything is written, the run checks that they spell every key the same way (key-check.ts), and refuses if not. */
  readonly keyMappings?: KeyMappings;
}

export const BACKFILL_STATUSES = [
  'complete',
  'complete-with-dead-letters',
  'refused',
  'stopped',
  'aborted',
  'failed',
] as const;
/**
 * `complete`: every row copied. `complete-with-dead-letters`: walked to the
 * end, but some rows are dead letters (new lacks them): the gates block until
 * they are retried or accepted. `refused`: not started, nothing written (the
 * phase, or a key-codec mismatch). `stopped`: a guard or a failing row
 * stopped it. `aborted`, `failed`: the signal, or a store failed.
 */
export type BackfillStatus = (typeof BACKFILL_STATUSES)[number];

/** The outcome of a run, step by step — a run never throws halfway. */
export interface BackfillResult {
  readonly status: BackfillStatus;
  readonly chunks: number;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  /** Rows deleted in old since the chunk was read (sync mode), now deleted in new too. */
  readonly deleted: number;
  readonly skippedExisting: number;
  readonly skippedTombstoned: number;
  /** Rows this run sent to the dead letters. */
  readonly deadLetters: number;
  /** Dead letters of the migration still waiting (this run's and earlier ones') when it ended. */
  readonly deadLettersPending?: number;
  readonly durationMs: number;
  /** Rows this run read in its copy pass, over its whole duration (waits and the prune included): the rate it achieved. */
  readonly rowsPerSecond: number;
  /**
   * How long this run waited, ms, by reason: `window` (outside its windows),
   * `latency` (a probe past `latencyBudgetMs`, or easing off as it neared
   * it), `served-latency` (the fleet's served writes past, or nearing,
   * `servedLatencyFactor` × their level before the run), `replica-lag`,
   * `ceiling` (the rows/s ceiling), `paused` (an operator's pause). A reason
   * it never waited for is absent.
   */
  readonly waitedMs: WaitedMs;
  /** The key the run resumed after, if it resumed. */
  readonly resumedAfter?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Settings an operator can change while a backfill runs: kept in the checkpoint `CHECKPOINTS.backfillControl(name)`. */
export type { BackfillControl } from '../control/checkpoints.js';
