import { CHECKPOINTS, loadCheckpoint } from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { runOneRange } from '../jobs/leased-ranges.js';
import { carriedSettings, followQueuedRun } from '../jobs/queued-run.js';
import type { QueuedRun, RangeQueue } from '../jobs/range-queue.js';
import { RunMeter } from '../jobs/run-progress.js';
import { fullPass, rangeWork, reportProgress, type FullPass } from './full-pass.js';
import type { VerifyOptions } from './verify-options.js';
import { fullSides, ignoredFields } from './pass-sides.js';

/** The options of a queued verification every worker applies alike, carried in its jobs (JSON). */
const VERIFY_SETTINGS = [
  'ignoreFields',
  'pushdown',
  'pairHash',
  'segmentRows',
  'targetSegmentMs',
  'leafRows',
  'bisectionFactor',
  'maxRowsPerSecond',
  'minAgeMs',
  'trackLimit',
  'leaseMs',
  'windows',
  'latencyBudgetMs',
] as const satisfies readonly (keyof VerifyOptions<object>)[];

/**
 * The full pass of a queued verification, as the process that starts it
 * sees it: a job queued for each unfinished range, and the ranges' rows
 * followed as progress until every range is complete (their findings are
 * merged, rechecked and reported here, as for a local run).
 */
export async function followQueuedVerify<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  queue: RangeQueue,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const { control, migration, name, options } = pass;
  const settings = carriedSettings(options, VERIFY_SETTINGS, pass.pacer.servedBaseline);
  const run: QueuedRun = { kind: 'verify', migration, name, settings };
  let before: number | undefined;
  let rows = 0;
  const outcome = await followQueuedRun({
    control,
    run,
    queue,
    keySource: pass.sides.old.store,
    ranges: options.ranges,
    signal: options.signal,
    progress: (done) => {
      // The rows covered before this process began following (a resumed run): the meter's rate is this run's.
      if (before === undefined) {
        before = done;
        pass.meter = new RunMeter(pass.meter.total, done);
      }
      rows = done - before;
      reportProgress(pass, false, 0, rows);
    },
  });
  if (outcome.status === 'complete') reportProgress(pass, true, 0, rows);
  return outcome;
}

/** How one queued range of a verification ended, with what it compared. */
export interface VerifyRangeResult {
  /**
   * `complete`: the range is done (by this job, or already; or its run ended).
   * `lost`: it changed hands while this worker held it (another carries on).
   * `aborted`: the worker is shutting down; the range was handed back with its progress.
   * `stopped`: a step failed for good.
   */
  readonly status: 'complete' | 'lost' | 'aborted' | 'stopped';
  /** Old's entities compared, and the segments hashed. */
  readonly rows: number;
  readonly segments: number;
  readonly error?: unknown;
}

/**
 * One queued range's job of a verification, in a worker: the run's current
 * pass (its run id from the control store, so a job queued before a restart
 * works the new run), the range claimed through its lease — waiting while
 * another worker's lease on it is live — then walked segment by segment from
 * its last holder's checkpoint, as a local worker walks its ranges.
 */
export async function runVerifyRange<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: VerifyOptions<E> & { readonly name: string },
  rangeId: number,
): Promise<VerifyRangeResult> {
  const run = await loadCheckpoint(control, migration, CHECKPOINTS.verifyRun(options.name));
  if (!run || run.complete) return { status: 'complete', rows: 0, segments: 0 };
  const ignore = ignoredFields(source, target, options);
  const sides = await fullSides(source, target, ignore, options);
  const pass = await fullPass({ migration, control, sides, ignore, options, runId: run.runId, total: 0, workers: 1 });
  const outcome = await runOneRange<K>(rangeWork(pass), rangeId);
  const { rows, segments } = pass.progress;
  return outcome.status === 'stopped'
    ? { status: 'stopped', rows, segments, error: outcome.error }
    : { status: outcome.status, rows, segments };
}
