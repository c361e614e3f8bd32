import type { ControlStore, RangeLease } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { sleep } from '../core/sleep.js';
import { rowsInRanges, splitKeySpace } from './range-split.js';
import type { PaceOptions } from './pace.js';
import type { FailedRange, QueuedRun, RangeQueue } from './range-queue.js';

/** How often the process following a queued run reads the ranges' progress. */
const FOLLOW_MS = 500;

/** Every this many looks, the ranges nobody holds are queued again (a no-op for those whose jobs wait or run). */
const REQUEUE_LOOKS = 10;

/** The unfinished ranges no live lease holds. */
function unheld(ranges: readonly RangeLease[], now: number): number[] {
  return ranges
    .filter((r) => !r.complete && (r.owner === undefined || r.leasedUntil.getTime() <= now))
    .map((r) => r.rangeId);
}

/** Ranges a queued run is split into by default: enough for a few dozen workers to share, and each retried alone. */
export const DEFAULT_QUEUED_RANGES = 64;

/**
 * What a queued run's jobs carry of its options (JSON): the settings `keys`
 * every worker applies alike, and the fleet's served levels before the run
 * (read once, by the process that starts it). A served-latency factor of
 * `Infinity` (off) travels as no levels at all.
 */
export function carriedSettings<O extends PaceOptions>(
  options: O,
  keys: readonly (keyof O & string)[],
  servedBaseline: Record<string, number>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (options[k] !== undefined) out[k] = options[k];
  const factor = options.servedLatencyFactor;
  if (factor !== undefined && Number.isFinite(factor)) out.servedLatencyFactor = factor;
  out.servedBaseline = factor === undefined || Number.isFinite(factor) ? servedBaseline : {};
  return out;
}

/** The failed ranges of a queued run as one error: which ranges, how often tried, and why. */
function failedError(failed: readonly FailedRange[], where: string, command: string): MidairError {
  const list = failed
    .slice(0, 5)
    .map((f) => `range ${f.rangeId} (${f.attempts} attempts): ${f.reason}`)
    .join('; ');
  const more = failed.length > 5 ? `; and ${failed.length - 5} more` : '';
  return new MidairError(
    'BLOCKED',
    `${failed.length} range job(s) on the queue at ${where} failed on every attempt: ${list}${more}. Fix the cause, then run \`midair ${command} --queue\` again: it queues them again and resumes each from its progress`,
  );
}

/**
 * A queued run as the process that starts it sees it: the key space split
 * at sampled keys into ranges (unless an earlier run of the same name split
 * it), a job queued for each unfinished range, then their progress followed
 * through the control store — the ranges' rows, counted once each by the
 * lease that did them — until every range is complete. Stops when `moved`
 * says the run may not go on, or when a range's job failed on every attempt
 * (its range and error said); the jobs stay queued when this process is
 * stopped, and the workers go on.
 */
export async function followQueuedRun<K extends Key>(c: {
  readonly control: ControlStore;
  readonly run: QueuedRun;
  readonly queue: RangeQueue;
  readonly keySource: Pick<Store<K, object>, 'sampleKeys'>;
  readonly ranges: number | undefined;
  readonly signal: AbortSignal | undefined;
  /** Called with the rows the ranges did so far (all their holders), after each look. */
  readonly progress: (rowsDone: number) => Promise<void> | void;
  /** Why the run may not go on now (the phase moved on), if so. */
  readonly moved?: () => Promise<MidairError | undefined>;
}): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const { control, run, queue, signal } = c;
  const { migration, name } = run;
  await splitKeySpace(control, { migration, name }, c.keySource, c.ranges ?? DEFAULT_QUEUED_RANGES, signal);
  await queue.enqueue(run, unheld(await control.ranges(migration, name), Date.now()));
  for (let look = 1; ; look++) {
    if (signal?.aborted) return { status: 'aborted' };
    const ranges = await control.ranges(migration, name);
    await c.progress(await rowsInRanges(control, migration, name));
    if (ranges.every((r) => r.complete)) return { status: 'complete' };
    const failed = (await queue.failed(run)).filter((f) => ranges.some((r) => r.rangeId === f.rangeId && !r.complete));
    if (failed.length > 0) return { status: 'stopped', error: failedError(failed, queue.where, run.kind) };
    const moved = await c.moved?.();
    if (moved) return { status: 'stopped', error: moved };
    // A range nobody holds whose job has ended (its worker lost it to a run since restarted) is queued again;
    // one whose job waits or runs is left alone.
    if (look % REQUEUE_LOOKS === 0) await queue.enqueue(run, unheld(ranges, Date.now()));
    await sleep(FOLLOW_MS, signal);
  }
}
