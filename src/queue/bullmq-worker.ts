import type { BackfillOptions } from '../backfill/backfill-options.js';
import type { RangeJobResult } from '../backfill/queued.js';
import { errorSummary, MidairError } from '../core/errors.js';
import type { RangeJob, RangeJobCounts, RangeJobValue, VerifyJobCounts } from '../jobs/range-queue.js';
import { queueBackend, queueName, type RangeQueueJob } from './connection.js';
import { processInstanceId } from '../core/instance-id.js';
import type { VerifyOptions } from '../verify/verify-options.js';
import type { VerifyRangeResult } from '../verify/queued.js';

/** What a worker needs of a migration: its name, and working one range of a queued run. */
export interface RangeWorking<E extends object> {
  readonly name: string;
  backfillRange(
    job: { readonly name: string; readonly rangeId: number },
    options?: BackfillOptions<E>,
  ): Promise<RangeJobResult>;
  verifyRange(
    job: { readonly name: string; readonly rangeId: number },
    options?: VerifyOptions<E>,
  ): Promise<VerifyRangeResult>;
}

/** One job as the worker's log sees it: the run, the range, how it ended, and counts — never row values. */
export interface WorkerJobEvent {
  readonly jobId: string;
  readonly kind: RangeJob['kind'];
  readonly run: string;
  readonly rangeId: number;
  readonly attempt: number;
  /** `handed-back`: the worker is stopping and put the job back on the queue with its range's progress. */
  readonly status: RangeJobResult['status'] | 'handed-back' | 'failed';
  /** A copy's counts (backfill and sweep jobs). */
  readonly counts?: RangeJobCounts;
  /** A verification's: old's entities compared, and the segments hashed. */
  readonly compared?: VerifyJobCounts;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface QueueWorkerOptions<E extends object> {
  /** The queue name's prefix (the queue is `<prefix>-<migration>`). Default `midair`. */
  readonly prefix?: string;
  /** Jobs this process works at once. Default 1. */
  readonly concurrency?: number;
  /**
   * How long BullMQ's lock on a running job lasts without renewal (renewed
   * at half of it); a worker that stalls past it has its job moved back to
   * the queue, and another may run it — the range's lease and fence make
   * that safe. Default 30 000 ms.
   */
  readonly lockMs?: number;
  /** Stops the worker: each job finishes or hands back its current chunk, and goes back on the queue. */
  readonly signal?: AbortSignal;
  /** This process's name on the range leases. Default host:pid:random. */
  readonly owner?: string;
  /** The worker's own options for every backfill and sweep job (the config's transform, pacing); the run's settings come with each job. */
  readonly backfill?: Omit<BackfillOptions<E>, 'signal' | 'owner' | 'queue'>;
  /** …and for every verification job. */
  readonly verify?: Omit<VerifyOptions<E>, 'signal' | 'owner' | 'queue'>;
  /** Once the worker listens: where the queue is (host:port, never a password). */
  readonly onReady?: (where: string) => void;
  readonly onJob?: (event: WorkerJobEvent) => void;
  /** A queue-level error (a lost connection, retried by BullMQ): its message only. */
  readonly onError?: (message: string) => void;
}

/** What a job's end event carries beside its status. */
type JobEnd = Pick<WorkerJobEvent, 'counts' | 'compared'>;

function countsOf(r: RangeJobResult): RangeJobCounts {
  const { rowsRead, inserted, updated, deleted, skippedExisting, skippedTombstoned, deadLetters, chunks } = r;
  return { rowsRead, inserted, updated, deleted, skippedExisting, skippedTombstoned, deadLetters, chunks };
}

/**
 * Works the jobs of one migration's queue until `signal` fires: each job is
 * one range of a queued backfill or sweep, worked through
 * `migration.backfillRange` (its lease claimed, its fence raised, copied
 * from its progress). A job whose range changed hands ends at once (the new
 * holder carries on); one the phase refuses, or that a row stopped, fails
 * for good; a store failure is retried by BullMQ with backoff. On `signal`
 * each running job stops after its current chunk, hands its range back with
 * its progress and returns to the queue, then the worker closes.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * process.on('SIGTERM', () => stop.abort());
 * await runQueueWorker(migration, 'redis://127.0.0.1:6379', { concurrency: 2, signal: stop.signal });
 * ```
 */
export async function runQueueWorker<E extends object>(
  migration: RangeWorking<E>,
  url: string,
  options: QueueWorkerOptions<E> = {},
): Promise<void> {
  const { UnrecoverableError, WaitingError } = await import('bullmq');
  const backend = await queueBackend(url);
  const stop = new AbortController();
  const event = (job: RangeQueueJob, e: Omit<WorkerJobEvent, 'jobId' | 'kind' | 'run' | 'rangeId' | 'attempt'>): void =>
    options.onJob?.({
      jobId: job.id ?? '',
      kind: job.data.kind,
      run: job.data.name,
      rangeId: job.data.rangeId,
      attempt: job.attemptsMade + 1,
      ...e,
    });
  const base = options.owner ?? processInstanceId();
  /** Ends a job whose worker stops: its range was handed back with its progress; the job goes back on the queue for another worker. */
  const handBack = async (job: RangeQueueJob, token: string | undefined, e: JobEnd): Promise<never> => {
    await job.moveToWait(token);
    event(job, { status: 'handed-back', ...e });
    throw new WaitingError();
  };
  /** Fails a job for good (the phase refuses it, or a row or step stopped it): no retry can fix it. */
  const fail = (job: RangeQueueJob, status: 'refused' | 'stopped', reason: unknown, e: JobEnd): never => {
    const error = errorSummary(reason);
    event(job, { status, ...e, error });
    throw new UnrecoverableError(`${status}: ${error.code}: ${error.message}`);
  };
  const processor = async (job: RangeQueueJob, token?: string): Promise<RangeJobValue> => {
    const { kind, name, rangeId, settings } = job.data;
    if (job.data.migration !== migration.name)
      throw new UnrecoverableError(`a job of migration ${job.data.migration} on the queue of ${migration.name}`);
    // Each job its own lease holder: the run's rows/s ceiling is shared out per holder, so jobs at once each take a share.
    const own = { signal: stop.signal, owner: `${base}~${job.id ?? rangeId}` };
    if (kind === 'verify') {
      const r = await migration.verifyRange(
        { name, rangeId },
        { ...options.verify, ...(settings as VerifyOptions<E>), ...own },
      );
      const end = { compared: { rows: r.rows, segments: r.segments } };
      if (r.status === 'aborted') return handBack(job, token, end);
      if (r.status === 'stopped') return fail(job, 'stopped', r.error, end);
      event(job, { status: r.status, ...end });
      return end.compared;
    }
    const r = await migration.backfillRange(
      { name, rangeId },
      { ...options.backfill, ...(settings as BackfillOptions<E>), ...own },
    );
    const end = { counts: countsOf(r) };
    if (r.status === 'aborted') return handBack(job, token, end);
    if (r.status === 'refused' || r.status === 'stopped') return fail(job, r.status, r.error, end);
    event(job, { status: r.status, ...end });
    return end.counts;
  };
  const worker = backend.worker(queueName(migration.name, options.prefix), processor, {
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockMs ?? 30_000,
    // Stalled jobs (a worker that stopped renewing) are looked for as often as a lock lasts.
    stalledInterval: options.lockMs ?? 30_000,
    // A job whose worker died or stalled goes back to the queue each time: the range's lease makes a rerun safe.
    maxStalledCount: 10,
    autorun: false,
  });
  worker.on('failed', (job, error) => {
    if (job && !(error instanceof WaitingError)) event(job, { status: 'failed', error: errorSummary(error) });
  });
  worker.on('error', (error) => options.onError?.(error instanceof MidairError ? error.message : error.name));
  const stopped = new Promise<void>((resolve) => {
    if (options.signal?.aborted) resolve();
    options.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  const running = worker.run();
  options.onReady?.(backend.where);
  await stopped;
  stop.abort();
  await worker.close();
  await running;
}
