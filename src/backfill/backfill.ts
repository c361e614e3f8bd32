import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  loadCheckpoint,
  saveCheckpoint,
  type BackfillRunState,
  type Checkpoint,
} from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { lastEntryIntoOldOnly, recordBackfillRun } from '../control/backfill-runs.js';
import type { BackfillOptions, BackfillResult } from './backfill-options.js';
import type { ChunkContext, Counts } from './chunks.js';
import { refusedResult, zeroCounts } from './run-results.js';
import { nextChunk } from './pass-chunk.js';
import { deleteShareRefusal, phaseRefusal, type RunKind } from './guards.js';
import { checkKeyMappings } from './key-check.js';
import { copyInRanges, overRanges } from './parallel.js';
import { rowsInRanges } from '../jobs/range-split.js';
import { followQueuedCopy } from './queued.js';
import { budgetedChunk, jobPacing, type JobPacing } from '../jobs/steps.js';
import { sleep } from '../core/sleep.js';
import { RunMeter } from '../jobs/run-progress.js';
import type { Throttle } from '../jobs/throttle.js';
import { Pacer } from '../jobs/pacer.js';
import { pruneStart, UNCHECKED, watched, type OrphanWatch } from './orphan-watch.js';
import { readAheadState, type ReadAhead } from './read-ahead.js';

export type {
  BackfillControl,
  BackfillOptions,
  BackfillProgress,
  BackfillResult,
  BackfillStatus,
} from './backfill-options.js';
export { acceptDeadLetters, retryDeadLetters } from './dead-letters.js';
export { checkKeyMappings, type KeyMappings } from './key-check.js';
export { DEFAULT_MAX_DELETE_SHARE, refusalInPhase } from './guards.js';

export { refusedResult, unstartedResult } from './run-results.js';

/** What every step of one run shares: what its chunks share, and the run's own progress. */
interface BackfillRun<K extends Key, E extends object> extends ChunkContext<K, E> {
  readonly started: number;
  readonly sweep: boolean;
  readonly kind: RunKind;
  readonly name: string;
  /** The run's checkpoint, saved after every chunk: a killed run resumes after it. */
  readonly state: Checkpoint<BackfillRunState>;
  readonly counts: Counts & { chunks: number; rowsRead: number };
  /** The dead letters left, once the run has counted them. */
  pending: number | undefined;
  resumedAfter: string | undefined;
  /** Whether the next chunk reads old's rows with its keys (chunks.ts). */
  readonly readAhead: ReadAhead<K, E>;
  /** The run's pace (all its workers'), with how long it waited for each reason. */
  readonly pacer: Pacer<K, E>;
}

/** What the passes of a started run share: the phase version its progress began under, its progress meter, how it copies. */
interface RunPlan {
  readonly since: number;
  /** Old's count at the start, and the rows earlier runs copied: the copy's progress. */
  readonly meter: RunMeter;
  readonly pacing: JobPacing;
  readonly throttle: Throttle;
  readonly sync: boolean;
  readonly passes: ('copy' | 'prune')[];
  /** What the copy pass saw of keys new holds and old lacks (orphan-watch.ts); saved with each chunk. */
  watch: OrphanWatch;
  /** Where the prune pass starts when the copy pass hands over to it (as `keyId()` spells it; `undefined`: the first key). */
  pruneAfter: string | undefined;
}

/**
 * Copies every entity of `source` into `target` with the conditional bulk
 * write, chunk by chunk in key order, saving a checkpoint after each
 * committed chunk. A run killed at any point and started again resumes after
 * the last checkpoint: chunks written twice are skipped by the conditional
 * write, so there is no duplicate and no gap.
 */
export async function runBackfill<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E> = {},
): Promise<BackfillResult> {
  const started = Date.now();
  const sweep = options.missingOnly === true;
  const kind = sweep ? 'sweep' : 'backfill';
  const name = options.name ?? DEFAULT_RUN_NAMES[kind];
  const run: BackfillRun<K, E> = {
    migration,
    source,
    target,
    control,
    options,
    started,
    sweep,
    kind,
    name,
    state: CHECKPOINTS.backfillRun(name),
    counts: zeroCounts(),
    pending: undefined,
    resumedAfter: undefined,
    readAhead: readAheadState(),
    pacer: new Pacer({ source, target, fleet: control, migration, options }),
  };
  try {
    // Refused means nothing written: every check before the first write.
    const refusal = await refusalBeforeStart(run);
    if (refusal) return refusal;
    const checkpoint = await resumePoint(run);
    if (checkpoint.complete) return await completedBefore(run, checkpoint);
    const plan = await startRun(run, checkpoint);
    let skip = checkpoint.pass === 'prune' ? 1 : 0;
    if (overRanges(options) && skip === 0) {
      const ended = await copyInParallel(run, plan);
      if (ended) return ended;
      skip = 1;
    }
    for (const pass of plan.passes.slice(skip)) {
      const ended = await runPass(run, plan, checkpoint, pass);
      if (ended) return ended;
    }
    return await complete(run);
  } catch (error) {
    return finish(run, options.signal?.aborted ? 'aborted' : 'failed', run.resumedAfter, error);
  }
}

function finish<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  status: BackfillResult['status'],
  resumedAfter: string | undefined,
  error?: unknown,
): BackfillResult {
  const { counts, pending, started } = run;
  const durationMs = Date.now() - started;
  return {
    status: status === 'complete' && (pending ?? 0) > 0 ? 'complete-with-dead-letters' : status,
    ...counts,
    ...(pending === undefined ? {} : { deadLettersPending: pending }),
    durationMs,
    rowsPerSecond: durationMs > 0 ? Math.round((counts.rowsRead * 1000) / durationMs) : 0,
    waitedMs: run.pacer.waited,
    ...(resumedAfter === undefined ? {} : { resumedAfter }),
    ...(error === undefined ? {} : { error: errorSummary(error) }),
  };
}

async function save<K extends Key, E extends object>(run: BackfillRun<K, E>, value: BackfillRunState): Promise<void> {
  return saveCheckpoint(run.control, run.migration, run.state, value);
}

/** The run ends: its checkpoint (and, for a backfill, its fact for the gates) records the phase version it ended under. */
async function complete<K extends Key, E extends object>(run: BackfillRun<K, E>): Promise<BackfillResult> {
  const { control, migration, sweep, name } = run;
  const phaseVersion = (await control.getState(migration))?.version ?? 0;
  await save(run, { pass: 'prune', complete: true, phaseVersion });
  if (!sweep)
    await recordBackfillRun(control, migration, name, { complete: true, at: new Date().toISOString(), phaseVersion });
  run.pending = await control.deadLetterCount(migration);
  return finish(run, 'complete', run.resumedAfter);
}

/** The checks before the first write that refuse the run: the phase, and the key mappings when given. */
async function refusalBeforeStart<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
): Promise<BackfillResult | undefined> {
  const { control, migration, kind, options, source } = run;
  const refusal = await phaseRefusal(control, migration, kind);
  if (refusal) return refusedResult(refusal);
  if (options.keyMappings) {
    try {
      await checkKeyMappings(options.keyMappings, source, { signal: options.signal });
    } catch (error) {
      return refusedResult(error);
    }
  }
  return undefined;
}

/** Where the run starts: its checkpoint, unless it restarts or its progress predates the last rollback to old-only. */
async function resumePoint<K extends Key, E extends object>(run: BackfillRun<K, E>): Promise<BackfillRunState> {
  const { control, migration, options, state, name } = run;
  const lastReset = lastEntryIntoOldOnly(await control.auditLog(migration, { limit: 500 }));
  const saved = options.restart ? undefined : await loadCheckpoint(control, migration, state);
  let checkpoint: BackfillRunState = saved ?? { complete: false };
  // Progress from before the last rollback to old-only describes a new that has since missed writes: start over.
  const staleProgress =
    lastReset !== undefined &&
    saved !== undefined &&
    (checkpoint.phaseVersion ?? 0) < lastReset.version &&
    (checkpoint.complete || checkpoint.pass !== undefined || checkpoint.after !== undefined);
  if (staleProgress) checkpoint = { complete: false };
  if ((options.restart || staleProgress) && overRanges(options)) await control.dropRanges(migration, name);
  return checkpoint;
}

/** A run whose checkpoint says it completed already. */
async function completedBefore<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  checkpoint: BackfillRunState,
): Promise<BackfillResult> {
  const { control, migration, sweep, name } = run;
  // Recorded again: the gates see a run by its fact, which a run stopped right after its checkpoint never wrote.
  const phaseVersion = checkpoint.phaseVersion ?? (await control.getState(migration))?.version ?? 0;
  if (!sweep)
    await recordBackfillRun(control, migration, name, {
      complete: true,
      at: new Date().toISOString(),
      phaseVersion,
    });
  run.pending = await control.deadLetterCount(migration);
  return finish(run, 'complete', undefined);
}

/** The run starts (or resumes): its fact for the gates recorded, old counted, its passes planned. */
async function startRun<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  checkpoint: BackfillRunState,
): Promise<RunPlan> {
  const { control, migration, sweep, name, source, options } = run;
  // Progress carries the version it began under, so a later rollback to old-only voids it.
  const since = checkpoint.phaseVersion ?? (await control.getState(migration))?.version ?? 0;
  if (!sweep)
    await recordBackfillRun(control, migration, name, {
      complete: false,
      at: new Date().toISOString(),
      phaseVersion: since,
    });
  run.resumedAfter = checkpoint.after;
  const total = await source.count({ signal: options.signal });
  const parallel = overRanges(options) && checkpoint.pass !== 'prune';
  const before = parallel
    ? await rowsInRanges(control, migration, name)
    : checkpoint.pass === 'copy'
      ? (checkpoint.rowsDone ?? 0)
      : 0;
  const pacing = jobPacing(control, migration, name, 1, options);
  // What the fleet served before this run's first chunk: what its served-latency pacing compares with.
  await run.pacer.start();
  const sync = (options.mode ?? 'sync') === 'sync' && !sweep;
  const passes: ('copy' | 'prune')[] = sweep ? ['copy'] : ['copy', 'prune'];
  // A serial sync-mode copy watches for keys new holds and old lacks as it goes, so the prune can skip what it saw.
  const resumedCopy = checkpoint.pass === 'copy' && checkpoint.after !== undefined;
  const watching = sync && !parallel && passes.length > 1;
  const watch = !watching ? UNCHECKED : resumedCopy ? (checkpoint.orphans ?? UNCHECKED) : { checked: true };
  return {
    since,
    meter: new RunMeter(total, before),
    pacing,
    throttle: pacing.throttles[0] as Throttle,
    sync,
    passes,
    watch,
    pruneAfter: undefined,
  };
}

/** The copy's progress to the run's callback: after a chunk (with the next one's size), at its start, or `done` at its end. */
function report<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  plan: RunPlan,
  o: { readonly chunkSize?: number; readonly done?: boolean } = {},
): void {
  const rows = run.counts.rowsRead;
  run.options.onProgress?.({
    ...(o.done ? plan.meter.done(rows) : plan.meter.at(rows)),
    chunkSize: o.chunkSize ?? plan.pacing.budget.chunk(plan.throttle.chunkSize),
    waitedMs: run.pacer.waited,
  });
}

/** After a chunk of the copy: the source counted again when that is due (what is left grows with inserts ahead), then the progress. */
async function reportCopied<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  plan: RunPlan,
  chunkSize?: number,
): Promise<void> {
  const { source, options } = run;
  await plan.meter.recount(async () => source.count({ signal: options.signal }));
  report(run, plan, chunkSize === undefined ? {} : { chunkSize });
}

/** The copy pass over leased ranges, by several workers. Resolves the run's result if the run ends here. */
async function copyInParallel<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  plan: RunPlan,
): Promise<BackfillResult | undefined> {
  const { migration, name, source, target, control, options, counts } = run;
  const { sync, passes, since } = plan;
  report(run, plan);
  const outcome = options.queue
    ? await followQueuedCopy(
        {
          migration,
          name,
          source,
          control,
          options,
          queue: options.queue,
          counts,
          servedBaseline: run.pacer.servedBaseline,
          progress: async () => reportCopied(run, plan),
        },
        plan.meter.rowsBefore,
      )
    : await copyInRanges(migration, name, source, target, control, options, {
        counts,
        sync,
        pacer: run.pacer,
        progress: async (chunkSize) => reportCopied(run, plan, chunkSize),
      });
  if (outcome.status !== 'complete') return finish(run, outcome.status, run.resumedAfter, outcome.error);
  report(run, plan, { done: true });
  if (passes.length === 1) return await complete(run);
  await save(run, { pass: 'prune', complete: false, phaseVersion: since });
  return undefined;
}

/** One pass (copy or prune), chunk by chunk from its checkpoint. Resolves the run's result if the run ends here. */
async function runPass<K extends Key, E extends object>(
  run: BackfillRun<K, E>,
  plan: RunPlan,
  checkpoint: BackfillRunState,
  pass: 'copy' | 'prune',
): Promise<BackfillResult | undefined> {
  const { migration, source, target, control, options, kind, counts } = run;
  const { since, throttle, sync, passes, pacing, meter } = plan;
  const start = checkpoint.pass === pass ? checkpoint.after : pass === 'prune' ? plan.pruneAfter : undefined;
  let after = start !== undefined ? (parseKeyId(start) as K) : undefined;
  if (pass === 'prune' && !options.allowDeletes) {
    const tooMany = await deleteShareRefusal({
      migration,
      source,
      target,
      control,
      after,
      maxDeleteShare: options.maxDeleteShare,
      chunkSize: throttle.chunkSize,
      signal: options.signal,
    });
    if (tooMany) return finish(run, 'stopped', run.resumedAfter, tooMany);
  }
  if (pass === 'copy') report(run, plan);
  for (;;) {
    if (options.signal?.aborted) return finish(run, 'aborted', run.resumedAfter);
    if (await pacing.paused()) {
      const t0 = performance.now();
      await sleep(200, options.signal);
      run.pacer.count('paused', performance.now() - t0);
      continue;
    }
    // The phase may have moved on while the run went: a chunk never runs where the run could not start.
    const moved = await phaseRefusal(control, migration, kind);
    if (moved)
      return finish(
        run,
        'stopped',
        run.resumedAfter,
        new MidairError('BLOCKED', `the phase changed while the ${kind} ran: ${moved.message}`),
      );
    if (!(await run.pacer.beforeChunk(throttle, after))) return finish(run, 'aborted', run.resumedAfter);
    const { size, read: counted } = await budgetedChunk(pacing.budget, throttle, options.signal, (reason, ms) =>
      run.pacer.count(reason, ms),
    );
    if (options.signal?.aborted) return finish(run, 'aborted', run.resumedAfter);
    const t0 = Date.now();
    const chunk = await nextChunk(run, sync, pass, after, size, plan.watch.checked);
    counted(chunk.read);
    if (chunk.stopped) return finish(run, 'stopped', run.resumedAfter, chunk.stopped);
    if (pass === 'copy' && chunk.read > 0)
      plan.watch = watched(plan.watch, after === undefined ? undefined : keyId(after), chunk.orphans);
    after = chunk.after;
    if (chunk.read === 0) break;
    await save(run, {
      pass,
      after: after === undefined ? undefined : keyId(after),
      complete: false,
      phaseVersion: since,
      ...(pass === 'copy' ? { rowsDone: meter.rowsBefore + counts.rowsRead, orphans: plan.watch } : {}),
    });
    const chunkMs = Date.now() - t0;
    throttle.record(chunk.read, chunkMs);
    if (pass === 'copy') await reportCopied(run, plan);
    if (chunk.read < size) break;
    await run.pacer.afterChunk(chunkMs);
  }
  if (pass === 'copy') report(run, plan, { done: true });
  if (pass === 'copy' && passes.length > 1) {
    // The prune starts where the copy pass last saw a key new holds and old lacks (at the first key when it could not watch).
    plan.pruneAfter = pruneStart(plan.watch, after === undefined ? undefined : keyId(after));
    await save(run, { pass: 'prune', after: plan.pruneAfter, complete: false, phaseVersion: since });
  }
  return undefined;
}
