import type { Queue } from 'bullmq';
import { zeroCounts } from '../backfill/run-results.js';
import { MidairError } from '../core/errors.js';
import type {
  FailedRange,
  QueuedRun,
  RangeJob,
  RangeJobCounts,
  RangeJobValue,
  RangeQueue,
} from '../jobs/range-queue.js';
import { queueBackend, queueName, type QueueBackend, type RangeQueueJob } from './connection.js';

/** Attempts per range job before it goes to the failed set (the queue's dead letters), with exponential backoff. */
export const JOB_ATTEMPTS = 5;
const BACKOFF_MS = 1000;
/** How long a queue may take to answer before a run is refused. */
const REACH_MS = 10_000;

/** Options of a range queue: where, and the queue name's prefix (the queue is `<prefix>-<migration>`). */
export interface BullmqQueueOptions {
  readonly prefix?: string;
}

/** A job's id: its run and range (re-adding a waiting or running job is a no-op in BullMQ). */
export function jobId(run: Pick<QueuedRun, 'kind' | 'name'>, rangeId: number): string {
  return `${run.kind}-${run.name}-${rangeId}`;
}

function ofRun(job: RangeQueueJob | undefined, run: QueuedRun): job is RangeQueueJob {
  return job?.data.kind === run.kind && job.data.name === run.name && job.data.migration === run.migration;
}

const ZERO: RangeJobCounts = zeroCounts();

/**
 * A {@link RangeQueue} on BullMQ: one queue per migration, one job per
 * range (its id names the run and the range), retried with exponential
 * backoff, kept in BullMQ's failed set once its attempts are spent — the
 * queue's dead letters, which name the range and the last error.
 */
export class BullmqRangeQueue implements RangeQueue {
  readonly where: string;
  readonly #backend: QueueBackend;
  readonly #queues = new Map<string, Queue<RangeJob, RangeJobValue>>();
  readonly #prefix: string | undefined;

  constructor(backend: QueueBackend, options: BullmqQueueOptions = {}) {
    this.#backend = backend;
    this.where = backend.where;
    this.#prefix = options.prefix;
  }

  #queue(migration: string): Queue<RangeJob, RangeJobValue> {
    const name = queueName(migration, this.#prefix);
    let q = this.#queues.get(name);
    if (!q) {
      q = this.#backend.queue(name);
      // A lost connection reaches each call as its own error (or, while connecting, `reachable`); not also an unhandled event.
      q.on('error', () => undefined);
      this.#queues.set(name, q);
    }
    return q;
  }

  /**
   * Resolves once the queue of `migration` answers; CONNECTION when it does
   * not within `ms` (BullMQ itself would retry for ever). Called before
   * anything is written, so an unreachable queue refuses the run.
   */
  async reachable(migration: string, ms = REACH_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MidairError(
              'CONNECTION',
              `the queue at ${this.where} did not answer within ${ms / 1000} s: check the --queue URL and that the server runs`,
            ),
          ),
        ms,
      );
    });
    try {
      await Promise.race([this.#queue(migration).waitUntilReady(), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async enqueue(run: QueuedRun, rangeIds: readonly number[]): Promise<void> {
    await this.reachable(run.migration);
    const q = this.#queue(run.migration);
    const fresh: RangeJob[] = [];
    for (const rangeId of rangeIds) {
      const job = await q.getJob(jobId(run, rangeId));
      if (!job) {
        fresh.push({ ...run, rangeId });
        continue;
      }
      const state = await job.getState();
      if (state === 'failed') await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      else if (state === 'completed') {
        // Completed, yet its range is not (the run's ranges were split anew): a new job for it.
        await job.remove();
        fresh.push({ ...run, rangeId });
      }
    }
    if (fresh.length === 0) return;
    await q.addBulk(
      fresh.map((data) => ({
        name: data.kind,
        data,
        opts: {
          jobId: jobId(run, data.rangeId),
          attempts: JOB_ATTEMPTS,
          backoff: { type: 'exponential', delay: BACKOFF_MS },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
  }

  async failed(run: QueuedRun): Promise<FailedRange[]> {
    const jobs = await this.#queue(run.migration).getJobs(['failed']);
    return jobs
      .filter((j) => ofRun(j, run))
      .map((j) => ({ rangeId: j.data.rangeId, attempts: j.attemptsMade, reason: j.failedReason }));
  }

  async counts(run: QueuedRun): Promise<RangeJobCounts> {
    const jobs = await this.#queue(run.migration).getJobs(['completed']);
    const sum: Record<keyof RangeJobCounts, number> = { ...ZERO };
    for (const j of jobs) {
      if (!ofRun(j, run)) continue;
      const r = j.returnvalue as Partial<RangeJobCounts> | null | undefined;
      for (const k of Object.keys(ZERO) as (keyof RangeJobCounts)[]) sum[k] += Number(r?.[k] ?? 0);
    }
    return sum;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map(async (q) => q.close()));
    this.#queues.clear();
  }
}

/**
 * A range queue on BullMQ at `url` (`redis://…` or `postgres://…`).
 *
 * @example
 * ```ts
 * const queue = await bullmqQueue('redis://127.0.0.1:6379');
 * await migration.backfill({ queue }); // then run `midair worker --queue redis://127.0.0.1:6379` on each machine
 * ```
 */
export async function bullmqQueue(url: string, options: BullmqQueueOptions = {}): Promise<BullmqRangeQueue> {
  return new BullmqRangeQueue(await queueBackend(url), options);
}
