import { MidairError, type Migration, type PhaseState, type Store } from '../../src/index.js';
import { keyId } from '../../src/core/keys.js';
import { simNow } from '../support/sim-clock.js';
import type { Violation } from './checker.js';
import type { Doc, Workload } from './harness.js';

/** What the operator's actors share with the rest of the history. */
export interface OperatorContext {
  readonly operator: Migration<number, Doc>;
  readonly random: () => number;
  readonly workload: Required<Workload>;
  readonly violations: Violation[];
  readonly trace: string[] | undefined;
  readonly running: () => boolean;
  readonly latest: () => PhaseState;
  readonly track: (s: PhaseState) => void;
  /** Replaces the real backfill (run once the fleet writes both stores). */
  readonly backfill?: (old: Store<number, Doc>, target: Store<number, Doc>) => Promise<void>;
  readonly rawOld: Store<number, Doc>;
  readonly rawNew: Store<number, Doc>;
  /** Whether new holds a full copy of old (a backfill completed since the last time new stopped getting writes). */
  backfilled: boolean;
  /** Whether old missed writes (in old-read-only) and was not re-synced from new since. */
  oldStale: boolean;
  transitions: number;
  refusals: number;
  backfills: number;
  tasks: number;
}

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Codes with which a phase change or an operator task may refuse cleanly (nothing half-done is left for the invariants to catch). */
const CLEAN_REFUSALS: ReadonlySet<string> = new Set([
  'TIMEOUT',
  'CONFLICT',
  'BLOCKED',
  'INVALID_ARGUMENT',
  'CONNECTION',
  'FENCED',
  'ABORTED',
]);

function note(ctx: OperatorContext, line: string): void {
  ctx.trace?.push(`t${simNow()} operator ${line}`);
}

/** A refusal with a known code is recorded; anything else is a violation of invariant 6 (the operator's tools must fail cleanly). */
function refused(ctx: OperatorContext, what: string, error: unknown): void {
  ctx.refusals++;
  const code = error instanceof MidairError ? error.code : undefined;
  note(
    ctx,
    `${what} refused: ${code ?? 'not a MidairError'}: ${error instanceof Error ? error.message : String(error)}`,
  );
  if (!code || !CLEAN_REFUSALS.has(code)) {
    ctx.violations.push({
      invariant: 6,
      message: `${what} failed uncleanly: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}

/**
 * The real backfill, killed at random chunks (an abort, or a store fault
 * ending the run) and started again until it completes — invariant 5.
 * Resolves how many runs it took, or undefined when it gave up.
 */
async function crashingBackfill(ctx: OperatorContext): Promise<number | undefined> {
  for (let runs = 1; runs <= 50; runs++) {
    const controller = new AbortController();
    const killAt = Math.floor(ctx.random() * 4);
    let chunks = 0;
    const result = await ctx.operator.backfill({
      name: 'model-backfill',
      restart: runs === 1,
      // The histories leave new with keys old lacks on purpose (on a handful of keys, far above the default share).
      allowDeletes: true,
      chunkSize: 2,
      targetChunkMs: 0,
      signal: controller.signal,
      onProgress: () => {
        if (++chunks === killAt) controller.abort();
      },
    });
    note(ctx, `backfill run ${runs}: ${result.status}${result.error ? ` ${result.error.code}` : ''}`);
    if (result.status === 'complete') return runs;
    // Refused where the phase does not allow it, or the phase moved under the run: not ours to finish.
    if (result.status === 'refused' || result.error?.code === 'INVALID_ARGUMENT' || result.error?.code === 'BLOCKED')
      return undefined;
  }
  ctx.violations.push({ invariant: 5, message: 'the backfill did not complete in 50 runs' });
  return undefined;
}

/** Re-syncs old from new after old missed writes (the reverse path): a full verification that repairs what differs. */
async function resyncOld(ctx: OperatorContext): Promise<void> {
  const report = await ctx.operator.verify({
    mode: 'full',
    repair: true,
    rechecks: 1,
    recheckDelayMs: 5,
    targetSegmentMs: 0,
  });
  note(ctx, `reverse re-sync: ${report.status}`);
  if (report.status === 'equal') ctx.oldStale = false;
}

async function step(ctx: OperatorContext): Promise<void> {
  const s = ctx.latest();
  const r = ctx.random();
  const { operator, workload } = ctx;
  if (workload.strict && r < 0.1) {
    const strict = ctx.random() < 0.6;
    ctx.track(await operator.setStrict(strict, { reason: `model: strict ${String(strict)}` }));
    note(ctx, `strict ${String(strict)}`);
    return;
  }
  switch (s.phase) {
    case 'old-only':
      break;
    case 'dual-write':
      if (r < 0.3) return rollback(ctx);
      if (!ctx.backfilled) {
        if (ctx.backfill) {
          await operator.awaitFleet();
          await ctx.backfill(ctx.rawOld, ctx.rawNew);
        } else {
          note(ctx, 'backfill starts');
          const runs = await crashingBackfill(ctx);
          if (runs === undefined) return;
          ctx.backfills += runs;
        }
        ctx.backfilled = true;
      }
      break;
    case 'shadow-read':
    case 'ramp':
      if (r < 0.3) return rollback(ctx);
      if (s.phase === 'ramp' && r < 0.45) {
        ctx.track(await operator.setRamp(Math.floor(ctx.random() * 101), { reason: 'model: ramp' }));
        return;
      }
      break;
    case 'new-primary':
      if (ctx.oldStale) return resyncOld(ctx);
      // Bounce across the cutover; walk on into old-read-only when the workload has it.
      if (!workload.deleteRecreate || r < 0.5) return rollback(ctx);
      break;
    case 'old-read-only':
      if (r < 0.3) {
        // The forced reverse path: back to new-primary first (old gets every write again), then re-sync old from new.
        ctx.track(await operator.rollback({ reason: 'model: reverse path after re-sync', force: true }));
        ctx.oldStale = true;
        ctx.transitions++;
        return resyncOld(ctx);
      }
      break;
    case 'complete':
      if (r < 0.3) return rollback(ctx);
      return;
  }
  ctx.track(await operator.advance({ reason: 'model: advance', rampPercent: Math.floor(ctx.random() * 101) }));
  ctx.transitions++;
}

async function rollback(ctx: OperatorContext): Promise<void> {
  const st = await ctx.operator.rollback({ reason: 'model: roll back' });
  ctx.track(st);
  ctx.transitions++;
  if (st.phase === 'old-only') ctx.backfilled = false; // new misses writes from here on: copy again before reads may reach it
  if (st.phase === 'old-read-only' || st.phase === 'complete') return;
}

/** The operator walks the phases. */
export async function walk(ctx: OperatorContext): Promise<void> {
  while (ctx.running()) {
    await sleep(5 + ctx.random() * 15);
    if (!ctx.running()) break;
    const before = ctx.latest();
    try {
      await step(ctx);
    } catch (error) {
      refused(ctx, `phase change from ${before.phase}@${before.version}`, error);
    }
  }
}

/** Backfill, sweep, verify (with and without repair) and repair, started at random in whatever phase the fleet is in. */
export async function tasks(ctx: OperatorContext, nKeys: number): Promise<void> {
  const { operator, random } = ctx;
  while (ctx.running()) {
    await sleep(20 + random() * 60);
    if (!ctx.running()) break;
    const kind = Math.floor(random() * 5);
    const phase = ctx.latest().phase;
    const label = ['backfill', 'sweep', 'verify', 'verify+repair', 'repair'][kind] ?? 'task';
    ctx.tasks++;
    try {
      let outcome: string;
      if (kind === 0)
        outcome = (await operator.backfill({ name: 'ops-backfill', chunkSize: 3, targetChunkMs: 0, restart: true }))
          .status;
      else if (kind === 1)
        outcome = (await operator.sweep({ name: 'ops-sweep', chunkSize: 3, targetChunkMs: 0, restart: true })).status;
      else if (kind === 2 || kind === 3)
        outcome = (
          await operator.verify({
            mode: 'full',
            repair: kind === 3,
            rechecks: 1,
            recheckDelayMs: 5,
            targetSegmentMs: 0,
          })
        ).status;
      else {
        const keys = Array.from({ length: 1 + Math.floor(random() * 3) }, () => keyId(Math.floor(random() * nKeys)));
        const report = await operator.repair(keys, { rechecks: 1, recheckDelayMs: 5 });
        outcome = `repaired, ${report.stillDifferent.total} still different`;
      }
      note(ctx, `${label} in ${phase}: ${outcome}`);
    } catch (error) {
      refused(ctx, `${label} in ${phase}`, error);
    }
  }
}
