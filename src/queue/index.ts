/**
 * Backfills (and sweeps) spread over many processes and machines on
 * BullMQ, on Redis or PostgreSQL: `bullmqQueue(url)` is what the process
 * that starts a run hands to `migration.backfill({ queue })`, and
 * `runQueueWorker(migration, url)` what each worker process runs
 * (`midair worker --queue <url>`). The queue delivers work; the control
 * store's range leases and their fences in the target decide who writes.
 */
export { bullmqQueue, BullmqRangeQueue, JOB_ATTEMPTS, jobId, type BullmqQueueOptions } from './bullmq-queue.js';
export { runQueueWorker, type QueueWorkerOptions, type RangeWorking, type WorkerJobEvent } from './bullmq-worker.js';
export { queueName } from './connection.js';
export type { FailedRange, QueuedRun, RangeJob, RangeJobCounts, RangeQueue } from '../jobs/range-queue.js';
