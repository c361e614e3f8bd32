import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { Pacer } from '../jobs/pacer.js';
import { carriedSettings, followQueuedRun } from '../jobs/queued-run.js';
import type { QueuedRun, RangeJobCounts, RangeQueue } from '../jobs/range-queue.js';
import type { BackfillOptions } from './backfill-options.js';
import { phaseRefusal } from './guards.js';
import { copyOneRange, type ParallelCopy } from './parallel.js';
import { zeroCounts } from './run-results.js';

/** The settings of a run that every worker applies alike, carried in its jobs (JSON). */
export type QueuedSettings = Pick<
  BackfillOptions<object>,
  | 'chunkSize'
  | 'mode'
  | 'missingOnly'
  | 'tombstonesWin'
  | 'onRowError'
  | 'leaseMs'
  | 'maxRowsPerSecond'
  | 'targetChunkMs'
  | 'windows'
  | 'latencyBudgetMs'
  | 'servedLatencyFactor'
  | 'servedBaseline'
>;

const QUEUED_SETTINGS = [
  'chunkSize',
  'mode',
  'missingOnly',
  'tombstonesWin',
  'onRowError',
  'leaseMs',
  'maxRowsPerSecond',
  'targetChunkMs',
  'windows',
  'latencyBudgetMs',
] as const satisfies readonly (keyof QueuedSettings)[];

/** What a queued backfill's jobs carry of its options (JSON): see {@link carriedSettings}. */
export function queuedSettings(
  options: QueuedSettings,
  servedBaseline: Record<string, number>,
): Record<string, unknown> {
  return carriedSettings(options, QUEUED_SETTINGS, servedBaseline);
}

/**
 * The copy pass of a queued run, as the process that starts it sees it: the
 * key space split at sampled keys into ranges (unless an earlier run of the
 * same name split it), a job queued for each unfinished range, then their
 * progress followed through the control store — the ranges' rows, counted
 * once each by the lease that copied them — until every range is complete.
 * Stops when the phase moves on, or when a range's job failed on every
 * attempt (its range and error said); the jobs stay queued when this process
 * is stopped, and the workers go on.
 */
export async function followQueuedCopy<K extends Key, E extends object>(
  c: {
    readonly migration: string;
    readonly name: string;
    readonly source: Store<K, E>;
    readonly control: ControlStore;
    readonly options: BackfillOptions<E>;
    readonly queue: RangeQueue;
    readonly counts: ParallelCopy<K, E>['counts'];
    /** The fleet's served levels before the run (what every worker's pace compares with). */
    readonly servedBaseline: Record<string, number>;
    /** Called with the rows the ranges copied so far, after each look. */
    readonly progress: (rowsDone: number) => Promise<void>;
  },
  before: number,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const { migration, name, source, control, options, queue } = c;
  const kind = options.missingOnly ? 'sweep' : 'backfill';
  const run: QueuedRun = { kind, migration, name, settings: queuedSettings(options, c.servedBaseline) };
  const outcome = await followQueuedRun({
    control,
    run,
    queue,
    keySource: source,
    ranges: options.ranges,
    signal: options.signal,
    progress: async (rows) => {
      c.counts.rowsRead = Math.max(0, rows - before);
      await c.progress(rows);
    },
    moved: async () => {
      const moved = await phaseRefusal(control, migration, kind);
      return moved && new MidairError('BLOCKED', `the phase changed while the ${kind} ran: ${moved.message}`);
    },
  });
  if (outcome.status !== 'complete') return outcome;
  const done = await queue.counts(run);
  Object.assign(c.counts, { ...done, rowsRead: c.counts.rowsRead });
  return outcome;
}

/** How one queued range's job ended, with what it copied. */
export interface RangeJobResult extends RangeJobCounts {
  /**
   * `complete`: the range is done (by this job, or it was already).
   * `lost`: it changed hands while this worker held it (another carries on).
   * `aborted`: the worker is shutting down; the range was handed back with its progress.
   * `refused`: the phase does not allow the run now. `stopped`: a row stopped it.
   */
  readonly status: 'complete' | 'lost' | 'aborted' | 'refused' | 'stopped';
  readonly error?: unknown;
}

/**
 * One queued range's job, in a worker: the range claimed through its lease
 * (waiting while another worker's lease on it is live), its fence raised in
 * the target, then copied chunk by chunk from its progress as the run's
 * local workers copy theirs.
 */
export async function runBackfillRange<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E> & { readonly name: string },
  rangeId: number,
): Promise<RangeJobResult> {
  const sweep = options.missingOnly === true;
  const refusal = await phaseRefusal(control, migration, sweep ? 'sweep' : 'backfill');
  const counts = zeroCounts();
  if (refusal) return { status: 'refused', ...counts, error: refusal };
  const pacer = new Pacer({ source, target, fleet: control, migration, options });
  await pacer.start();
  const sync = (options.mode ?? 'sync') === 'sync' && !sweep;
  const outcome = await copyOneRange(
    {
      migration,
      name: options.name,
      source,
      target,
      control,
      options,
      run: { counts, sync, pacer, progress: async () => Promise.resolve() },
    },
    rangeId,
  );
  return outcome.status === 'stopped'
    ? { status: 'stopped', ...counts, error: outcome.error }
    : { status: outcome.status, ...counts };
}
