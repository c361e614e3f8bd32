import { randomUUID } from 'node:crypto';
import { runLeasedRanges, type RangeStep } from '../jobs/leased-ranges.js';
import { budgetedChunk, jobPacing, type JobPacing } from '../jobs/steps.js';
import { Pacer } from '../jobs/pacer.js';
import { RunMeter } from '../jobs/run-progress.js';
import { processInstanceId } from '../core/instance-id.js';
import type { Throttle } from '../jobs/throttle.js';
import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  loadCheckpoint,
  saveCheckpoint,
  type VerifyRunState,
} from '../control/checkpoints.js';
import type { ControlStore, RangeLease } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { chunked } from '../core/collections.js';
import {
  addCandidate,
  classify,
  loadFindings,
  mergeFindings,
  newFindings,
  saveFindings,
  type Candidate,
  type Findings,
} from './findings.js';
import { settle } from './recheck.js';
import { compareSegment, type SegmentContext } from './segments.js';
import { verifySide, type VerifySide } from './sides.js';
import { pairSides } from './pair-hash.js';
import { buildReport, matchedOf, wilsonUpper } from './report-build.js';
import type { VerifyOptions, VerifyReport } from './verify-options.js';

/** What a run found, with every tracked differing key (for repair) beside the capped report. */
export interface VerifyOutcome {
  readonly report: VerifyReport;
  readonly differing: readonly string[];
}

/**
 * Verifies that `target` holds what `source` holds, entity by entity (see
 * {@link VerifyOptions} for the modes). Never throws halfway: failures come
 * back as a report with `status: 'failed'`.
 */
export async function runVerify<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: VerifyOptions<E> = {},
): Promise<VerifyOutcome> {
  const started = Date.now();
  const mode = options.mode ?? 'full';
  // Key fields are always compared: left out, values swapped between two keys would hash the same.
  const keyFields = new Set([...(source.keyFields ?? []), ...(target.keyFields ?? [])]);
  const ignore = new Set((options.ignoreFields ?? []).filter((f) => !keyFields.has(f)));
  let old = verifySide('old', source, { ignore, pushdown: options.pushdown ?? true, transform: options.transform });
  let newSide = verifySide('new', target, { ignore, pushdown: options.pushdown ?? true });
  const findings = newFindings();
  const counts = { old: 0, new: 0 };
  let resumed = false;
  let sample: VerifyReport['sample'];
  const finish = (
    status: VerifyReport['status'],
    real: Map<string, Candidate>,
    changed: readonly string[],
    error?: unknown,
  ): VerifyOutcome => ({
    report: buildReport(mode, status, { old, new: newSide }, counts, findings, real, changed, {
      resumed,
      sample,
      durationMs: Date.now() - started,
      maxKeys: options.maxKeys ?? 100,
      error,
    }),
    differing: [...real.keys()],
  });
  try {
    [counts.old, counts.new] = await Promise.all([
      source.count({ signal: options.signal }),
      target.count({ signal: options.signal }),
    ]);
    if (mode === 'count') return finish(counts.old === counts.new ? 'equal' : 'different', new Map(), []);
    if (mode === 'sample') {
      const n = options.sampleSize ?? 1000;
      if (!Number.isSafeInteger(n) || n < 1)
        throw new MidairError('INVALID_ARGUMENT', 'verify: sampleSize must be a positive integer');
      sample = await compareSample({ old, new: newSide }, n, ignore, findings, options);
    } else {
      ({ old, new: newSide } = await pairSides({ old, new: newSide }, ignore, options.pairHash ?? true, options));
      const outcome = await walkFull(migration, { old, new: newSide }, control, ignore, findings, counts.old, options);
      resumed = outcome.resumed;
      if (outcome.status !== 'complete')
        return finish(outcome.status === 'aborted' ? 'aborted' : 'failed', findings.candidates, [], outcome.error);
    }
    const settled = await settle({ old, new: newSide }, findings, {
      ranged: mode === 'full',
      ignore,
      rechecks: options.rechecks ?? 2,
      delayMs: options.recheckDelayMs ?? 1000,
      minAgeMs: options.minAgeMs,
      signal: options.signal,
    });
    if (mode === 'full') findings.matched = matchedOf(findings, settled.equalNow);
    if (sample) {
      const differing = settled.real.size;
      sample = {
        keys: sample.keys,
        differingRate: sample.keys === 0 ? 0 : differing / sample.keys,
        upper95: wilsonUpper(differing, sample.keys),
      };
    }
    if (options.signal?.aborted) return finish('aborted', settled.real, settled.changed);
    const different = settled.real.size + findings.untracked > 0;
    return finish(different ? 'different' : 'equal', settled.real, settled.changed);
  } catch (error) {
    return finish(options.signal?.aborted ? 'aborted' : 'failed', findings.candidates, [], error);
  }
}

/** `n` random keys from each side, compared entity by entity. */
async function compareSample<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  n: number,
  ignore: ReadonlySet<string>,
  findings: Findings,
  options: VerifyOptions<E>,
): Promise<{ keys: number; differingRate: number; upper95: number }> {
  const signal = options.signal;
  const [a, b] = await Promise.all([
    sides.old.store.sampleKeys(n, { signal }),
    sides.new.store.sampleKeys(n, { signal }),
  ]);
  const keys = [...new Map([...a, ...b].map((k) => [keyId(k), k])).values()];
  for (const batch of chunked(keys, 500)) {
    const [olds, news] = await Promise.all([
      sides.old.getMany(batch, { signal }),
      sides.new.getMany(batch, { signal }),
    ]);
    batch.forEach((k, i) => {
      const c = classify(olds[i], news[i], ignore);
      if (c) addCandidate(findings, keyId(k), c, options.trackLimit ?? 100_000);
      else findings.matched++;
    });
  }
  return { keys: keys.length, differingRate: 0, upper95: 0 };
}

/** A range's progress as one worker holds it: its lease's token, where it stands, and what it found so far. */
interface HeldRange {
  token: number;
  after: string | undefined;
  done: boolean;
  findings: Findings;
}

/** What every step of one full pass shares. */
interface FullPass<K extends Key, E extends object> {
  readonly migration: string;
  readonly name: string;
  readonly control: ControlStore;
  readonly sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> };
  readonly options: VerifyOptions<E>;
  readonly runId: string;
  readonly total: number;
  readonly ctx: SegmentContext<K, E>;
  readonly pacing: JobPacing;
  /** The pass's pace (windows, probes, the fleet's served latency), shared by its workers. */
  readonly pacer: Pacer<K, E>;
  readonly held: Map<number, HeldRange>;
  readonly progress: { segments: number; rows: number };
  /** Old's count, and the rows the run covered before this process resumed it. */
  meter: RunMeter;
}

/** What walking one segment needs, from the run's options. */
function segmentContext<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  ignore: ReadonlySet<string>,
  trackLimit: number,
  options: VerifyOptions<E>,
): SegmentContext<K, E> {
  return {
    old: sides.old,
    new: sides.new,
    ignore,
    leafRows: options.leafRows ?? 256,
    factor: Math.max(2, options.bisectionFactor ?? 16),
    minAgeMs: options.minAgeMs,
    trackLimit,
    signal: options.signal,
  };
}

/**
 * The full pass: the key space as leased ranges (one, with one worker), each
 * walked in segments of old's rows; a checkpoint per segment holds the
 * range's progress and findings, so a killed run resumes where it stopped.
 */
async function walkFull<K extends Key, E extends object>(
  migration: string,
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  control: ControlStore,
  ignore: ReadonlySet<string>,
  into: Findings,
  total: number,
  options: VerifyOptions<E>,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown; resumed: boolean }> {
  const name = options.name ?? DEFAULT_RUN_NAMES.verify;
  const runCheckpoint = CHECKPOINTS.verifyRun(name);
  const trackLimit = options.trackLimit ?? 100_000;
  let run: VerifyRunState | undefined = await loadCheckpoint(control, migration, runCheckpoint);
  const resumed = run !== undefined && !run.complete && !options.restart;
  if (!run || !resumed) {
    run = { runId: randomUUID(), complete: false };
    await control.dropRanges(migration, name);
    await saveCheckpoint(control, migration, runCheckpoint, run);
  }
  const runId = run.runId;
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const ctx = segmentContext(sides, ignore, trackLimit, options);
  const owner = options.owner ?? processInstanceId();
  const pacing = jobPacing(
    control,
    migration,
    name,
    workers,
    {
      chunkSize: options.segmentRows ?? 10_000,
      minChunkSize: ctx.leafRows,
      maxChunkSize: 1_000_000,
      targetChunkMs: options.targetSegmentMs ?? 500,
      maxRowsPerSecond: options.maxRowsPerSecond,
    },
    { owner },
  );
  const pacer = new Pacer({ source: sides.old.store, target: sides.new.store, fleet: control, migration, options });
  await pacer.start();
  const pass: FullPass<K, E> = {
    migration,
    name,
    control,
    sides,
    options,
    runId,
    total,
    ctx,
    pacing,
    pacer,
    held: new Map<number, HeldRange>(),
    progress: { segments: 0, rows: 0 },
    meter: new RunMeter(total, 0),
  };
  if (resumed) pass.meter = new RunMeter(total, await coveredBefore(pass));
  const outcome = await runLeasedRanges<K>({
    migration,
    name,
    control,
    keySource: sides.old.store,
    workers,
    ranges: workers > 1 ? (options.ranges ?? workers * 4) : (options.ranges ?? 1),
    leaseMs: options.leaseMs ?? 30_000,
    owner,
    signal: options.signal,
    paused: pacing.paused,
    onRangeWait: options.onRangeWait,
    // The lease's own progress may run ahead of the checkpoint (it is renewed first): only the checkpoint counts.
    step: async (w, { lease }, _leaseAfter, through) => walkSegment(pass, w, lease, through),
  });
  if (outcome.status !== 'complete') return { ...outcome, resumed };
  report(pass, true);
  for (const range of await control.ranges(migration, name))
    mergeFindings(into, (await loadRange(pass, range.rangeId))?.findings ?? newFindings(), trackLimit);
  await saveCheckpoint(control, migration, runCheckpoint, { runId, complete: true });
  return { status: 'complete', resumed };
}

/** A range's checkpoint, if this run wrote it. */
async function loadRange<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  id: number,
): Promise<{ after: string | undefined; done: boolean; findings: Findings } | undefined> {
  const { control, migration, name, runId } = pass;
  const cp = await loadCheckpoint(control, migration, CHECKPOINTS.verifyRange(name, id));
  return cp?.runId === runId
    ? { after: cp.after, done: cp.done === true, findings: loadFindings(cp.findings) }
    : undefined;
}

/** One step of a full pass: the next segment of a leased range compared, then its checkpoint saved (fenced by the lease). */
async function walkSegment<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  w: number,
  lease: RangeLease,
  through: K | undefined,
): Promise<RangeStep<K>> {
  const { migration, name, control, sides, options, runId, ctx, pacing, pacer, held, progress } = pass;
  let state = held.get(lease.rangeId);
  if (state?.token !== lease.token) {
    // A fresh lease (perhaps taken over from another worker): its checkpoint is the truth, else the range's start.
    const cp = await loadRange(pass, lease.rangeId);
    state = cp
      ? { token: lease.token, ...cp }
      : { token: lease.token, after: lease.lo, done: false, findings: newFindings() };
    held.set(lease.rangeId, state);
  }
  if (state.done) return { after: undefined, done: true };
  const throttle = pacing.throttles[w] as Throttle;
  const after = state.after === undefined ? undefined : (parseKeyId(state.after) as K);
  if (!(await pacer.beforeChunk(throttle, after))) return { after, done: false };
  const { size, read: counted } = await budgetedChunk(pacing.budget, throttle, options.signal);
  if (options.signal?.aborted) return { after, done: false };
  const t0 = Date.now();
  const boundary = await sides.old.keyAt({ after, through }, size, { signal: options.signal });
  // Once a segment of this range has differed, the next ones are cut before hashing (one pass, not two).
  const presplit = state.findings.segments.differing > 0 ? size : undefined;
  const sizes = await compareSegment(
    ctx,
    { after, through: boundary ?? through },
    state.findings,
    0,
    undefined,
    presplit,
  );
  state.findings.rows += sizes.old;
  counted(sizes.old);
  const done = boundary === undefined || (through !== undefined && keyId(boundary) === keyId(through));
  const next = boundary === undefined ? undefined : keyId(boundary);
  // Fenced: a worker that lost its lease must not overwrite the new holder's checkpoint.
  if (!(await control.renewRange(migration, name, lease.rangeId, lease.token, options.leaseMs ?? 30_000, next)))
    return { after, done: false };
  await saveCheckpoint(control, migration, CHECKPOINTS.verifyRange(name, lease.rangeId), {
    runId,
    ...(next === undefined ? {} : { after: next }),
    ...(done ? { done } : {}),
    findings: saveFindings(state.findings),
  });
  state.after = next;
  state.done = done;
  progress.segments++;
  progress.rows += sizes.old;
  const segmentMs = Date.now() - t0;
  throttle.record(Math.max(sizes.old, sizes.new), segmentMs);
  report(pass, false, state.findings.segments.differing);
  if (!done) await pacer.afterChunk(segmentMs);
  return { after: boundary, done };
}

/** The pass's progress to the run's callback: old's rows covered (by earlier processes of the run too), at this run's rate. */
function report<K extends Key, E extends object>(pass: FullPass<K, E>, done: boolean, differing = 0): void {
  const { rows, segments } = pass.progress;
  pass.options.onProgress?.({
    ...(done ? pass.meter.done(rows) : pass.meter.at(rows)),
    segments,
    differing,
  });
}

/** Old's rows the run's ranges covered before this process resumed it (their checkpoints). */
async function coveredBefore<K extends Key, E extends object>(pass: FullPass<K, E>): Promise<number> {
  let rows = 0;
  for (const range of await pass.control.ranges(pass.migration, pass.name))
    rows += (await loadRange(pass, range.rangeId))?.findings.rows ?? 0;
  return rows;
}
