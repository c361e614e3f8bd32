/**
 * A distributed queue that hands a job's leased ranges to worker processes
 * (BullMQ: `midair/queue`). The queue only delivers work: which worker may
 * write a range is decided by the range's lease in the control store and
 * enforced by its fence in the store written (lease-fence.ts), so a job the
 * queue delivers twice — BullMQ may run a stalled job on two workers at
 * once — is worked once.
 */

/** Which run a queued range belongs to. */
export interface QueuedRun {
  readonly kind: 'backfill' | 'sweep' | 'verify';
  readonly migration: string;
  /** The run's name (its ranges live under it in the control store). */
  readonly name: string;
  /**
   * The run's settings every worker applies (chunk size, mode, …): fixed by
   * the process that enqueued it, so all workers copy alike. JSON.
   */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** One range's job as a worker receives it. */
export interface RangeJob extends QueuedRun {
  readonly rangeId: number;
}

/** A range whose job failed on every attempt: the dead letters of the queue. */
export interface FailedRange {
  readonly rangeId: number;
  readonly attempts: number;
  /** The last attempt's error message (no row values: midair's errors name keys and fields only). */
  readonly reason: string;
}

/** What a range's job reports when it ends (summed over a run's jobs by the process following it). */
export interface RangeJobCounts {
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly skippedExisting: number;
  readonly skippedTombstoned: number;
  readonly deadLetters: number;
  readonly chunks: number;
}

/** What a verification range's job reports: old's entities compared, and the segments hashed. */
export interface VerifyJobCounts {
  readonly rows: number;
  readonly segments: number;
}

/** What any range job returns to the queue. */
export type RangeJobValue = RangeJobCounts | VerifyJobCounts;

export interface RangeQueue {
  /** Where the queue lives, for messages (host:port, never a password). */
  readonly where: string;
  /**
   * Enqueues a job for each of `rangeIds`. Idempotent: a range whose job is
   * waiting or running is left alone, one whose job completed or failed for
   * good is queued again (a run started again after the failure was fixed).
   */
  enqueue(run: QueuedRun, rangeIds: readonly number[]): Promise<void>;
  /** The run's ranges whose jobs failed on every attempt. */
  failed(run: QueuedRun): Promise<FailedRange[]>;
  /** The counts the run's completed jobs reported, summed (a range worked twice over attempts counts each attempt that completed). */
  counts(run: QueuedRun): Promise<RangeJobCounts>;
  close(): Promise<void>;
}
