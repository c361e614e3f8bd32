import { randomUUID } from 'node:crypto';
import { runLeasedRanges, type RangeStep } from '../jobs/leased-ranges.js';
import type { FencedLease } from '../jobs/lease-fence.js';
import { budgetedChunk, jobPacing, type JobPacing } from '../jobs/steps.js';
import { Pacer } from '../jobs/pacer.js';
import { RunMeter } from '../jobs/run-progress.js';
import { processInstanceId } from '../core/instance-id.js';
import type { Throttle } from '../jobs/throttle.js';
import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  deleteCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../control/checkpoints.js';
import type { ControlStore, RangeLease } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { keyId, parseKeyId, type Key } from '../core/keys.js';
import { loadFindings, mergeFindings, newFindings, saveFindings, type Findings } from './findings.js';
import { compareSegment, type SegmentContext } from './segments.js';
import type { VerifySide } from './sides.js';
import type { VerifyOptions } from './verify-options.js';

/** Both sides of a verification, as a pass compares them. */
export interface Sides<K extends Key, E extends object> {
  readonly old: VerifySide<K, E>;
  readonly new: VerifySide<K, E>;
}

/** A range's checkpoint as one holder of its lease left it: where it stands, and what it found so far. */
interface RangeState {
  after: string | undefined;
  done: boolean;
  findings: Findings;
}

/** What every step of one full pass shares (in one process). */
export interface FullPass<K extends Key, E extends object> {
  readonly migration: string;
  readonly name: string;
  readonly control: ControlStore;
  readonly sides: Sides<K, E>;
  readonly options: VerifyOptions<E>;
  readonly runId: string;
  readonly ctx: SegmentContext<K, E>;
  readonly pacing: JobPacing;
  /** The pass's pace (windows, probes, the fleet's served latency), shared by its workers. */
  readonly pacer: Pacer<K, E>;
  readonly owner: string;
  /**
   * The ranges this process's workers hold, by range, under the token they
   * hold it with; `uncounted`: rows the checkpoint taken over holds that the
   * range's lease did not count (its last holder lost the lease between its
   * checkpoint and its renewal), counted with this holder's first step.
   */
  readonly held: Map<number, RangeState & { token: number; uncounted: number }>;
  readonly progress: { segments: number; rows: number };
  /** Old's count, and the rows the run covered before this process resumed it. */
  meter: RunMeter;
}

/**
 * The run `name` of a full verification: the unfinished one checkpointed
 * (resumed), else a new one — whose ranges (and the old run's range
 * checkpoints) are dropped first.
 */
export async function openRun(
  control: ControlStore,
  migration: string,
  options: Pick<VerifyOptions<object>, 'name' | 'restart'>,
): Promise<{ readonly runId: string; readonly resumed: boolean }> {
  const name = options.name ?? DEFAULT_RUN_NAMES.verify;
  const runCheckpoint = CHECKPOINTS.verifyRun(name);
  const run = await loadCheckpoint(control, migration, runCheckpoint);
  if (run && !run.complete && !options.restart) return { runId: run.runId, resumed: true };
  if (run) await dropRangeCheckpoints(control, migration, name, run.runId);
  const fresh = { runId: randomUUID(), complete: false };
  await control.dropRanges(migration, name);
  await saveCheckpoint(control, migration, runCheckpoint, fresh);
  return { runId: fresh.runId, resumed: false };
}

/** Marks the run complete (a next verification starts a new one) and drops its ranges' checkpoints. */
export async function closeRun<K extends Key, E extends object>(pass: FullPass<K, E>): Promise<void> {
  const { control, migration, name, runId } = pass;
  await saveCheckpoint(control, migration, CHECKPOINTS.verifyRun(name), { runId, complete: true });
  await dropRangeCheckpoints(control, migration, name, runId);
}

/** Every range checkpoint the run `runId` may have written (one per holder of each range's lease). */
async function dropRangeCheckpoints(
  control: ControlStore,
  migration: string,
  name: string,
  runId: string,
): Promise<void> {
  for (const range of await control.ranges(migration, name)) {
    await deleteCheckpoint(control, migration, CHECKPOINTS.verifyRange(name, range.rangeId));
    for (let token = range.token; token > 0; token--)
      await deleteCheckpoint(control, migration, CHECKPOINTS.verifyRange(name, range.rangeId, { runId, token }));
  }
}

/** What walking one segment needs, from the run's options. */
function segmentContext<K extends Key, E extends object>(
  sides: Sides<K, E>,
  ignore: ReadonlySet<string>,
  options: VerifyOptions<E>,
): SegmentContext<K, E> {
  return {
    old: sides.old,
    new: sides.new,
    ignore,
    leafRows: options.leafRows ?? 256,
    factor: Math.max(2, options.bisectionFactor ?? 16),
    minAgeMs: options.minAgeMs,
    trackLimit: options.trackLimit ?? 100_000,
    signal: options.signal,
  };
}

/** One process's share of the full pass `runId`: its `workers`' pacing and its pace (started). */
export async function fullPass<K extends Key, E extends object>(p: {
  readonly migration: string;
  readonly control: ControlStore;
  readonly sides: Sides<K, E>;
  readonly ignore: ReadonlySet<string>;
  readonly options: VerifyOptions<E>;
  readonly runId: string;
  readonly total: number;
  readonly workers: number;
}): Promise<FullPass<K, E>> {
  const { migration, control, sides, options } = p;
  const name = options.name ?? DEFAULT_RUN_NAMES.verify;
  const ctx = segmentContext(sides, p.ignore, options);
  const owner = options.owner ?? processInstanceId();
  const pacing = jobPacing(
    control,
    migration,
    name,
    p.workers,
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
  return {
    migration,
    name,
    control,
    sides,
    options,
    runId: p.runId,
    ctx,
    pacing,
    pacer,
    owner,
    held: new Map(),
    progress: { segments: 0, rows: 0 },
    meter: new RunMeter(p.total, 0),
  };
}

/** What a pass's workers hand to the leased ranges: how to step through one, and the job's settings. */
export function rangeWork<K extends Key, E extends object>(pass: FullPass<K, E>) {
  const { migration, name, control, options } = pass;
  return {
    migration,
    name,
    control,
    leaseMs: options.leaseMs ?? 30_000,
    owner: pass.owner,
    signal: options.signal,
    paused: pass.pacing.paused,
    onRangeWait: options.onRangeWait,
    // The lease's own progress is not where a range resumes: only its holders' checkpoints are.
    step: async (w: number, { lease }: FencedLease, _after: K | undefined, through: K | undefined) =>
      walkSegment(pass, w, lease, through),
  };
}

/**
 * The full pass by this process's workers over leased ranges (one range with
 * one worker; other processes may share the run), each walked in segments of
 * old's rows; every segment's checkpoint holds its range's progress and
 * findings, so a killed run resumes where it stopped.
 */
export async function walkRanges<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  workers: number,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const o = pass.options;
  return runLeasedRanges<K>({
    ...rangeWork(pass),
    keySource: pass.sides.old.store,
    workers,
    ranges: workers > 1 ? (o.ranges ?? workers * 4) : (o.ranges ?? 1),
  });
}

/**
 * The latest checkpoint of this run for a range, by the holder of `token` or
 * an earlier one (a holder that died before its first segment wrote none;
 * any holder's checkpoint is whole: its progress with what it found up to
 * there).
 */
async function latestRange<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  rangeId: number,
  token: number,
): Promise<RangeState | undefined> {
  const { control, migration, name, runId } = pass;
  const holders = Array.from({ length: token }, (_, i) =>
    CHECKPOINTS.verifyRange(name, rangeId, { runId, token: token - i }),
  );
  for (const checkpoint of [...holders, CHECKPOINTS.verifyRange(name, rangeId)]) {
    const cp = await loadCheckpoint(control, migration, checkpoint);
    if (cp?.runId === runId) return { after: cp.after, done: cp.done === true, findings: loadFindings(cp.findings) };
  }
  return undefined;
}

/** The run's ranges' findings merged into `into`; each range must be complete, with its last holder's checkpoint. */
export async function mergeRanges<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  into: Findings,
): Promise<void> {
  for (const range of await pass.control.ranges(pass.migration, pass.name)) {
    const state = range.complete ? await latestRange(pass, range.rangeId, range.token) : undefined;
    if (!state?.done)
      throw new MidairError(
        'BLOCKED',
        `verification ${pass.name}: range ${range.rangeId} ${range.complete ? 'completed without the checkpoint of its findings' : 'is not complete'}; run the verification again with --restart`,
      );
    mergeFindings(into, state.findings, pass.ctx.trackLimit);
  }
}

/** Old's rows the run's ranges covered before this process resumed it (their checkpoints). */
export async function coveredBefore<K extends Key, E extends object>(pass: FullPass<K, E>): Promise<number> {
  let rows = 0;
  for (const range of await pass.control.ranges(pass.migration, pass.name))
    rows += (await latestRange(pass, range.rangeId, range.token))?.findings.rows ?? 0;
  return rows;
}

/**
 * One step of a full pass: the next segment of a leased range compared, then
 * the checkpoint of this lease's holder saved. The lease is renewed (or the
 * range completed) after it, fenced by its token: a worker that lost its lease
 * leaves the range at once, and what it saved under its own token is never
 * read over the new holder's.
 */
async function walkSegment<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  w: number,
  lease: RangeLease,
  through: K | undefined,
): Promise<RangeStep<K>> {
  const { migration, name, control, sides, options, runId, ctx, pacing, pacer, held, progress } = pass;
  let state = held.get(lease.rangeId);
  if (state?.token !== lease.token) {
    // A fresh lease (perhaps taken over from another worker): the latest checkpoint is the truth, else the range's start.
    const cp = await latestRange(pass, lease.rangeId, lease.token);
    const from = cp ?? { after: lease.lo, done: false, findings: newFindings() };
    state = { token: lease.token, ...from, uncounted: Math.max(0, from.findings.rows - lease.rows) };
    held.set(lease.rangeId, state);
  }
  if (state.done) return { after: undefined, done: true, rows: takeUncounted(state) };
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
  await saveCheckpoint(
    control,
    migration,
    CHECKPOINTS.verifyRange(name, lease.rangeId, { runId, token: lease.token }),
    {
      runId,
      ...(next === undefined ? {} : { after: next }),
      ...(done ? { done } : {}),
      findings: saveFindings(state.findings),
    },
  );
  state.after = next;
  state.done = done;
  progress.segments++;
  progress.rows += sizes.old;
  const segmentMs = Date.now() - t0;
  throttle.record(Math.max(sizes.old, sizes.new), segmentMs);
  reportProgress(pass, false, state.findings.segments.differing);
  if (!done) await pacer.afterChunk(segmentMs);
  return { after: boundary, done, rows: sizes.old + takeUncounted(state) };
}

/** The rows a taken-over checkpoint holds beyond its lease's count, once. */
function takeUncounted(state: { uncounted: number }): number {
  const n = state.uncounted;
  state.uncounted = 0;
  return n;
}

/** The pass's progress to the run's callback: old's rows covered (by earlier processes of the run too), at this run's rate. */
export function reportProgress<K extends Key, E extends object>(
  pass: FullPass<K, E>,
  done: boolean,
  differing = 0,
  rows = pass.progress.rows,
): void {
  pass.options.onProgress?.({
    ...(done ? pass.meter.done(rows) : pass.meter.at(rows)),
    segments: pass.progress.segments,
    differing,
  });
}
