import type { ControlStore } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { BackfillOptions } from './backfill-options.js';
import { MidairError } from '../core/errors.js';
import { processInstanceId } from '../core/instance-id.js';
import { copyNext, type Counts } from './chunks.js';
import { phaseRefusal } from './guards.js';
import { readAheadState } from './read-ahead.js';
import { runLeasedRanges, runOneRange, type OneRangeOutcome, type RangeStep } from '../jobs/leased-ranges.js';
import type { FencedLease } from '../jobs/lease-fence.js';
import { budgetedChunk, jobPacing } from '../jobs/steps.js';
import type { Throttle } from '../jobs/throttle.js';
import type { Pacer } from '../jobs/pacer.js';

/** Where a parallel copy reports to: its chunk count and rows, and a progress callback after each chunk. */
export interface ParallelCopy<K extends Key, E extends object> {
  readonly counts: Counts & { chunks: number; rowsRead: number };
  readonly sync: boolean;
  /** The run's pace, shared by its workers. */
  readonly pacer: Pacer<K, E>;
  /** Called (and waited for) after each chunk with the chunk size the worker will take next. */
  readonly progress: (chunkSize: number) => Promise<void>;
}

/** Whether the copy pass goes over leased ranges: several workers here, or workers elsewhere through a queue. */
export function overRanges(options: Pick<BackfillOptions<unknown>, 'workers' | 'queue'>): boolean {
  return (options.workers ?? 1) > 1 || options.queue !== undefined;
}

/** What the steps of a range copy need: the run's stores, options and shared counts. */
interface RangeCopy<K extends Key, E extends object> {
  readonly migration: string;
  readonly name: string;
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  readonly control: ControlStore;
  readonly options: BackfillOptions<E>;
  readonly run: ParallelCopy<K, E>;
}

/**
 * The steps of a copy over leased ranges, for `workers` workers of this
 * process: each step copies one chunk of its range under the range's lease
 * fence; chunks are idempotent, so a range taken over from a stalled worker
 * is simply copied on from its progress. The workers take their chunks from
 * one rows/s budget (shared, so the ceiling is the run's, not each
 * worker's), and this process takes its share of it when other processes
 * hold leases on the same run.
 */
function rangeSteps<K extends Key, E extends object>(c: RangeCopy<K, E>, workers: number) {
  const { migration, name, source, target, control, options, run } = c;
  const { counts, sync, pacer } = run;
  const owner = options.owner ?? processInstanceId();
  const pacing = jobPacing(control, migration, name, workers, options, { owner });
  const { throttles, budget } = pacing;
  const readAhead = throttles.map(() => readAheadState<K, E>());
  const paused = async (): Promise<boolean> => {
    const yes = await pacing.paused();
    if (yes) pacer.count('paused', 200); // the leased ranges wait 200 ms before asking again
    return yes;
  };
  const step = async (
    w: number,
    { fence: lease }: FencedLease,
    after: K | undefined,
    through: K | undefined,
  ): Promise<RangeStep<K>> => {
    const throttle = throttles[w] as Throttle;
    // The phase may have moved on while the run went: a chunk never runs where the run could not start.
    const moved = await phaseRefusal(control, migration, options.missingOnly ? 'sweep' : 'backfill');
    if (moved)
      return {
        stop: new MidairError(
          'BLOCKED',
          `the phase changed while the ${options.missingOnly ? 'sweep' : 'backfill'} ran: ${moved.message}`,
        ),
      };
    if (!(await pacer.beforeChunk(throttle, after))) return { after, done: false };
    const { size, read: counted } = await budgetedChunk(budget, throttle, options.signal, (reason, ms) =>
      pacer.count(reason, ms),
    );
    if (options.signal?.aborted) return { after, done: false };
    const t0 = Date.now();
    const {
      read,
      last: next,
      stopped,
    } = await copyNext(
      { migration, source, target, control, options, counts, readAhead: readAhead[w], lease },
      sync,
      after,
      size,
      through,
    );
    counted(read);
    if (read > 0) {
      counts.chunks++;
      counts.rowsRead += read;
    }
    if (stopped) return { stop: stopped };
    const chunkMs = Date.now() - t0;
    throttle.record(read, chunkMs);
    await run.progress(budget.chunk(throttle.chunkSize));
    if (read >= size) await pacer.afterChunk(chunkMs);
    return { after: next, done: read < size, rows: read };
  };
  return {
    migration,
    name,
    control,
    leaseMs: options.leaseMs ?? 30_000,
    owner,
    signal: options.signal,
    paused,
    onRangeWait: options.onRangeWait,
    fencing: target.fencing,
    step,
  };
}

/** The copy pass with several workers over leased ranges (leased-ranges.ts), split here unless another process split it. */
export async function copyInRanges<K extends Key, E extends object>(
  migration: string,
  name: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E>,
  run: ParallelCopy<K, E>,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const steps = rangeSteps({ migration, name, source, target, control, options, run }, workers);
  return runLeasedRanges<K>({ ...steps, keySource: source, workers, ranges: options.ranges ?? workers * 4 });
}

/** The copy of one range of a run whose ranges exist (a queued job's), by one worker: see {@link runOneRange}. */
export async function copyOneRange<K extends Key, E extends object>(
  c: RangeCopy<K, E>,
  rangeId: number,
): Promise<OneRangeOutcome> {
  return runOneRange<K>(rangeSteps(c, 1), rangeId);
}
