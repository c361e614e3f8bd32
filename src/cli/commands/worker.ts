import type { WorkerJobEvent } from '../../queue/bullmq-worker.js';
import type { CliContext } from '../context.js';

export interface WorkerCliOptions {
  readonly queue: string;
  readonly concurrency?: number;
  readonly lockMs?: number;
  readonly queuePrefix?: string;
}

/** One job's end as a line: the run, the range, how it ended, and counts (never a row value). */
export function formatJob(e: WorkerJobEvent): string {
  const c = e.counts;
  const counts = c
    ? ` — ${c.rowsRead} rows read, ${c.inserted} inserted, ${c.updated} updated, ${c.deleted} deleted`
    : '';
  const v = e.compared;
  const compared = v ? ` — ${v.rows} rows compared in ${v.segments} segments` : '';
  const error = e.error ? `: ${e.error.code}: ${e.error.message}` : '';
  return `${e.kind} ${e.run} range ${e.rangeId} (attempt ${e.attempt}): ${e.status}${counts}${compared}${error}`;
}

/**
 * `midair worker`: works the migration's queued backfill, sweep and
 * verification jobs until `signal` fires (SIGTERM, Ctrl-C), then hands each running job's
 * range back with its progress and returns it to the queue.
 */
export async function runWorker(
  ctx: CliContext,
  o: WorkerCliOptions,
  signal: AbortSignal,
  log: {
    readonly ready: (where: string) => void;
    readonly job: (e: WorkerJobEvent) => void;
    readonly error: (message: string) => void;
  },
): Promise<void> {
  const { runQueueWorker } = await import('../../queue/index.js');
  await runQueueWorker(ctx.migration, o.queue, {
    signal,
    ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
    ...(o.lockMs === undefined ? {} : { lockMs: o.lockMs }),
    ...(o.queuePrefix === undefined ? {} : { prefix: o.queuePrefix }),
    ...(ctx.spec.backfill?.leaseMs === undefined ? {} : { backfill: { leaseMs: ctx.spec.backfill.leaseMs } }),
    onReady: log.ready,
    onJob: log.job,
    onError: log.error,
  });
}
