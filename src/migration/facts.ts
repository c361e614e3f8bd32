import { INTENT_REASON, type AuditEntry, type ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { BackfillFact, MigrationFacts, VerificationSummary } from './gates.js';

/** Control-store checkpoints the gates read. */
export const FACT_NAMES = Object.freeze({
  /** The default backfill run's own checkpoint (older versions recorded completion only there). */
  backfill: 'backfill',
  /** Every backfill run by name: whether it completed, and under which phase version (see {@link recordBackfillRun}). */
  backfillRuns: 'backfill:runs',
  lastVerification: 'verify:last',
  shadow: (instanceId: string) => `shadow:${instanceId}`,
});

/** One instance's shadow comparisons in one phase version (saved by the instance, summed by the gates). */
export interface ShadowCounters {
  readonly phaseVersion: number;
  readonly comparisons: number;
  readonly mismatches: number;
}

function parse<T>(raw: string | undefined): T | undefined {
  if (raw === undefined) return undefined;
  try {
    return (JSON.parse(raw) as T | null) ?? undefined;
  } catch {
    return undefined;
  }
}

type BackfillRuns = Record<string, BackfillFact>;

async function loadRuns(control: ControlStore, migration: string): Promise<BackfillRuns> {
  return parse<BackfillRuns>(await control.loadCheckpoint(migration, FACT_NAMES.backfillRuns)) ?? {};
}

/**
 * Records a backfill run's progress where the gates read it: started (not
 * complete) when it begins, complete when it ends, with the phase version it
 * ended under and its dead letters. Sweeps are not backfills and are not recorded.
 */
export async function recordBackfillRun(control: ControlStore, migration: string, name: string, fact: Omit<BackfillFact, 'name'>): Promise<void> {
  const runs = await loadRuns(control, migration);
  runs[name] = { name, ...fact };
  await control.saveCheckpoint(migration, FACT_NAMES.backfillRuns, JSON.stringify(runs));
}

/** The audit entry of the last move into `old-only` (a rollback or a halt, not the creation), newest first in `audit`. */
export function lastEntryIntoOldOnly(audit: readonly AuditEntry[]): AuditEntry | undefined {
  return audit.find((e) => e.to.phase === 'old-only' && e.from !== undefined && e.from.phase !== 'old-only');
}

/** Whether a fact recorded at `version` / `at` is from before `since` (the last entry into old-only): it no longer holds. */
function stale(since: AuditEntry | undefined, fact: { readonly phaseVersion?: number | undefined; readonly at?: string | undefined }): boolean {
  if (!since) return false;
  if (fact.phaseVersion !== undefined) return fact.phaseVersion < since.version;
  if (fact.at !== undefined) return new Date(fact.at).getTime() < since.at.getTime();
  return true; // undated: written before facts were dated, so before the rollback as far as anyone can tell
}

/**
 * What the control store says about new's backfill, leaving out what was
 * recorded before `since`: complete when any named run completed (sweeps do
 * not count), started when any run began.
 */
async function backfillFacts(control: ControlStore, migration: string, since: AuditEntry | undefined): Promise<MigrationFacts['backfill']> {
  const runs = Object.values(await loadRuns(control, migration)).filter((r) => !stale(since, r));
  const legacy = parse<{ complete?: boolean; at?: string; phaseVersion?: number; reset?: boolean }>(await control.loadCheckpoint(migration, FACT_NAMES.backfill));
  const legacyLive = legacy !== undefined && legacy.reset !== true && !stale(since, legacy);
  const done = runs.find((r) => r.complete);
  return {
    complete: done !== undefined || (legacyLive && legacy.complete === true),
    started: runs.length > 0 || legacyLive,
    ...(done ? { run: done.name } : {}),
  };
}

/** Reads everything the gates, `status` and `plan` look at. */
export async function readFacts(control: ControlStore, migration: string, instanceExpiryMs: number, now = new Date()): Promise<MigrationFacts> {
  const state = await control.getState(migration);
  if (!state) throw new MidairError('INVALID_ARGUMENT', `migration ${migration} has no state in the control store yet: run \`midair status\` after an instance started, or advance it once`);
  const fleet = await control.instances(migration, new Date(now.getTime() - instanceExpiryMs));
  const audit = await control.auditLog(migration, { limit: 500 });
  // A rollback to old-only drops what new was known to hold: facts from before it no longer count, even if nobody reset them.
  const since = lastEntryIntoOldOnly(audit);
  const verification = parse<VerificationSummary>(await control.loadCheckpoint(migration, FACT_NAMES.lastVerification));
  const lastVerification = verification && !stale(since, { at: verification.at }) ? verification : undefined;
  let comparisons = 0;
  let mismatches = 0;
  for (const i of fleet) {
    const s = parse<ShadowCounters>(await control.loadCheckpoint(migration, FACT_NAMES.shadow(i.instanceId)));
    if (s?.phaseVersion === state.version) {
      comparisons += s.comparisons;
      mismatches += s.mismatches;
    }
  }
  const entered = audit.find((e) => e.to.phase === 'new-primary' && e.from?.phase !== 'new-primary');
  const parkedCount = await control.parkedCount(migration);
  return {
    state,
    fleet,
    backfill: await backfillFacts(control, migration, since),
    lastVerification,
    shadow: { comparisons, mismatches },
    // Intents of writes in flight are not missed writes: a dead writer's is re-synced when due, and the cutover drains them all.
    repairDepth: await control.repairDepth(migration, undefined, { excludeReasons: [INTENT_REASON] }),
    parked: { count: parkedCount, sample: parkedCount > 0 ? await control.parkedRepairs(migration, { limit: 5 }) : [] },
    deadLetters: await control.deadLetterCount(migration),
    enteredNewPrimaryAt: entered?.at,
    factsResetAt: since?.at,
    now,
  };
}

/**
 * Forgets what new was known to hold — every backfill run (its checkpoint,
 * ranges and completion), the last verification, the shadow counters of the
 * instances seen — and records a `facts-reset` audit entry. Called on
 * entering `old-only`: new stops getting writes there, so whatever was
 * copied or verified before no longer describes it, and a backfill must copy
 * again from the first key (the audit log keeps the history).
 */
export async function resetFactsForNew(control: ControlStore, migration: string, actor: string, reason = 'entered old-only: new no longer gets writes'): Promise<void> {
  const runs = await loadRuns(control, migration);
  const names = new Set([FACT_NAMES.backfill, 'sweep', ...Object.keys(runs)]);
  const reset = JSON.stringify({ complete: false, reset: true });
  for (const name of names) {
    if ((await control.loadCheckpoint(migration, name)) !== undefined) await control.saveCheckpoint(migration, name, reset);
    await control.dropRanges(migration, name);
  }
  await control.saveCheckpoint(migration, FACT_NAMES.backfillRuns, JSON.stringify({}));
  if ((await control.loadCheckpoint(migration, FACT_NAMES.lastVerification)) !== undefined) await control.saveCheckpoint(migration, FACT_NAMES.lastVerification, 'null');
  const zero: Omit<ShadowCounters, 'phaseVersion'> = { comparisons: 0, mismatches: 0 };
  for (const i of await control.instances(migration, new Date(0))) {
    if ((await control.loadCheckpoint(migration, FACT_NAMES.shadow(i.instanceId))) !== undefined) {
      await control.saveCheckpoint(migration, FACT_NAMES.shadow(i.instanceId), JSON.stringify({ phaseVersion: 0, ...zero } satisfies ShadowCounters));
    }
  }
  await control.appendAudit(migration, { actor, action: 'facts-reset', reason: `${reason}: backfill, verification and shadow facts for new cleared`, forced: false });
}
