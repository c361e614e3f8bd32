import { randomUUID } from 'node:crypto';
import { runLeasedRanges, type RangeStep } from '../jobs/leased-ranges.js';
import { waitForPace, workerThrottles } from '../jobs/steps.js';
import { sleep } from '../core/sleep.js';
import type { Throttle } from '../jobs/throttle.js';
import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  loadCheckpoint,
  saveCheckpoint,
  type VerifyRunState,
} from '../control/checkpoints.js';
import type { ControlStore, RangeLease } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
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
import type { KeyList, SideReport, VerifyOptions, VerifyReport } from './verify-options.js';

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
  const old = verifySide('old', source, { ignore, pushdown: options.pushdown ?? true, transform: options.transform });
  const newSide = verifySide('new', target, { ignore, pushdown: options.pushdown ?? true });
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
  readonly throttles: readonly Throttle[];
  readonly held: Map<number, HeldRange>;
  readonly progress: { segments: number; rows: number };
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
  const ctx: SegmentContext<K, E> = {
    old: sides.old,
    new: sides.new,
    ignore,
    leafRows: options.leafRows ?? 256,
    factor: Math.max(2, options.bisectionFactor ?? 16),
    minAgeMs: options.minAgeMs,
    trackLimit,
    signal: options.signal,
  };
  const { throttles, paused } = workerThrottles(control, migration, name, workers, {
    chunkSize: options.segmentRows ?? 10_000,
    minChunkSize: ctx.leafRows,
    maxChunkSize: 1_000_000,
    targetChunkMs: options.targetSegmentMs ?? 500,
    maxRowsPerSecond: options.maxRowsPerSecond,
  });
  const pass: FullPass<K, E> = {
    migration,
    name,
    control,
    sides,
    options,
    runId,
    total,
    ctx,
    throttles,
    held: new Map<number, HeldRange>(),
    progress: { segments: 0, rows: 0 },
  };
  const outcome = await runLeasedRanges<K>({
    migration,
    name,
    control,
    keySource: sides.old.store,
    workers,
    ranges: workers > 1 ? (options.ranges ?? workers * 4) : (options.ranges ?? 1),
    leaseMs: options.leaseMs ?? 30_000,
    owner: options.owner,
    signal: options.signal,
    paused,
    // The lease's own progress may run ahead of the checkpoint (it is renewed first): only the checkpoint counts.
    step: async (w, lease, _leaseAfter, through) => walkSegment(pass, w, lease, through),
  });
  if (outcome.status !== 'complete') return { ...outcome, resumed };
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
  const { migration, name, control, sides, options, runId, total, ctx, throttles, held, progress } = pass;
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
  const throttle = throttles[w] as Throttle;
  const after = state.after === undefined ? undefined : (parseKeyId(state.after) as K);
  if (!(await waitForPace(sides.old.store, sides.new.store, options, after, throttle))) return { after, done: false };
  const t0 = Date.now();
  const boundary = await sides.old.keyAt({ after, through }, throttle.chunkSize, { signal: options.signal });
  // Once a segment of this range has differed, the next ones are cut before hashing (one pass, not two).
  const presplit = state.findings.segments.differing > 0 ? throttle.chunkSize : undefined;
  const sizes = await compareSegment(
    ctx,
    { after, through: boundary ?? through },
    state.findings,
    0,
    undefined,
    presplit,
  );
  state.findings.rows += sizes.old;
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
  options.onProgress?.({
    rowsDone: progress.rows,
    total,
    segments: progress.segments,
    differing: state.findings.segments.differing,
  });
  const wait = throttle.record(Math.max(sizes.old, sizes.new), Date.now() - t0);
  if (wait > 0 && !done) await sleep(wait, options.signal);
  return { after: boundary, done };
}

/**
 * Entities found equal in a full pass: old's rows (the top-level segments
 * partition old) less every old key that differed — unless it proved equal
 * when read by key (a text key the engines order differently) — and less the
 * young ones left out. Counting equal segments instead would count a row
 * twice where two engines' orders make ranges overlap.
 */
function matchedOf(findings: Findings, equalNow: readonly string[]): number {
  const equal = new Set(equalNow);
  let differed = 0;
  for (const [id, c] of findings.candidates) if (c.kind !== 'extra' && !equal.has(id)) differed++;
  let youngOld = 0;
  for (const [id, inOld] of findings.young) if (inOld && !findings.candidates.has(id)) youngOld++;
  return Math.max(0, findings.rows - differed - youngOld - findings.untracked);
}

function keyList(ids: readonly string[], total: number, max: number): KeyList {
  return { total, keys: ids.slice(0, max) };
}

function buildReport<K extends Key, E extends object>(
  mode: VerifyReport['mode'],
  status: VerifyReport['status'],
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  counts: { old: number; new: number },
  findings: Findings,
  real: ReadonlyMap<string, Candidate>,
  changed: readonly string[],
  extra: { resumed: boolean; sample: VerifyReport['sample']; durationMs: number; maxKeys: number; error?: unknown },
): VerifyReport {
  const side = (s: VerifySide<K, E>, count: number): SideReport => ({
    store: s.store.name,
    count,
    hashing: s.hashing,
    ...(s.reason === undefined ? {} : { reason: s.reason }),
  });
  const of = (kind: Candidate['kind']): [string, Candidate][] => [...real].filter(([, c]) => c.kind === kind);
  const missing = of('missing').map(([id]) => id);
  const extraKeys = of('extra').map(([id]) => id);
  const different = of('different');
  const error = extra.error;
  return {
    mode,
    status,
    old: side(sides.old, counts.old),
    new: side(sides.new, counts.new),
    matched: findings.matched,
    missing: keyList(missing, missing.length, extra.maxKeys),
    extra: keyList(extraKeys, extraKeys.length, extra.maxKeys),
    different: {
      total: different.length,
      keys: different.slice(0, extra.maxKeys).map(([keyId, c]) => ({ keyId, fields: c.fields ?? [] })),
    },
    changedDuringRun: keyList(changed, changed.length, extra.maxKeys),
    skippedYoung: findings.young.size,
    segments: { ...findings.segments },
    ...(extra.sample ? { sample: extra.sample } : {}),
    untracked: findings.untracked,
    resumed: extra.resumed,
    durationMs: extra.durationMs,
    ...(error === undefined ? {} : { error: errorSummary(error) }),
  };
}

/** The Wilson score upper bound (95 %) of a proportion: how large the differing share could be, given a clean or nearly clean sample. */
export function wilsonUpper(hits: number, n: number): number {
  if (n === 0) return 1;
  const z = 1.96;
  const p = hits / n;
  const denom = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const margin = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return Math.min(1, (centre + margin) / denom);
}
