import {
  CHECKPOINTS,
  DEFAULT_RUN_NAMES,
  checkpointExists,
  deleteCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../control/checkpoints.js';
import { INTENT_REASON, type AuditEntry, type ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { lastEntryIntoOldOnly, loadRuns } from '../control/backfill-runs.js';
import type { MigrationFacts } from './gates.js';
import { fleetCapacity } from './capacity.js';

/** Whether a fact recorded at `version` / `at` is from before `since` (the last entry into old-only): it no longer holds. */
function stale(
  since: AuditEntry | undefined,
  fact: { readonly phaseVersion?: number | undefined; readonly at?: string | undefined },
): boolean {
  if (!since) return false;
  if (fact.phaseVersion !== undefined) return fact.phaseVersion < since.version;
  if (fact.at !== undefined) return new Date(fact.at).getTime() < since.at.getTime();
  return true; // undated: written before facts were dated, so before the rollback as far as anyone can tell
}

/**
 * What the control store says about new's backfill, leaving out what was
 * recorded before `since`: complete when any named run completed (sweeps do
 * not count), started when any run began. Each run is seen through its fact
 * and through its own checkpoint: a run that stopped between writing the one
 * and the other, or whose checkpoint an older version wrote without a fact,
 * still counts under its name — the default run's and every recorded one's.
 */
async function backfillFacts(
  control: ControlStore,
  migration: string,
  since: AuditEntry | undefined,
): Promise<MigrationFacts['backfill']> {
  const recorded = await loadRuns(control, migration);
  const facts = Object.values(recorded).filter((r) => !stale(since, r));
  const names = new Set([...Object.keys(recorded), DEFAULT_RUN_NAMES.backfill]);
  const completeOwn: string[] = [];
  let ownStarted = false;
  for (const name of names) {
    const state = await loadCheckpoint(control, migration, CHECKPOINTS.backfillRun(name));
    if (state === undefined || state.reset === true || stale(since, state)) continue;
    ownStarted = true;
    if (state.complete) completeOwn.push(name);
  }
  // The default run's own checkpoint names no run, as before runs had names.
  const run = facts.find((r) => r.complete)?.name ?? completeOwn.find((name) => name !== DEFAULT_RUN_NAMES.backfill);
  return {
    complete: run !== undefined || completeOwn.length > 0,
    started: facts.length > 0 || ownStarted,
    ...(run === undefined ? {} : { run }),
  };
}

/** Reads everything the gates, `status` and `plan` look at. */
export async function readFacts(
  control: ControlStore,
  migration: string,
  instanceExpiryMs: number,
  now = new Date(),
): Promise<MigrationFacts> {
  const state = await control.getState(migration);
  if (!state)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${migration} has no state in the control store yet: run \`midair status\` after an instance started, or advance it once`,
    );
  const fleet = await control.instances(migration, new Date(now.getTime() - instanceExpiryMs));
  const audit = await control.auditLog(migration, { limit: 500 });
  // A rollback to old-only drops what new was known to hold: facts from before it no longer count, even if nobody reset them.
  const since = lastEntryIntoOldOnly(audit);
  const verification = (await loadCheckpoint(control, migration, CHECKPOINTS.lastVerification)) ?? undefined;
  const lastVerification = verification && !stale(since, { at: verification.at }) ? verification : undefined;
  let comparisons = 0;
  let mismatches = 0;
  for (const i of fleet) {
    const s = await loadCheckpoint(control, migration, CHECKPOINTS.shadow(i.instanceId));
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
    capacity: fleetCapacity(fleet, state.version),
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
export async function resetFactsForNew(
  control: ControlStore,
  migration: string,
  actor: string,
  reason = 'entered old-only: new no longer gets writes',
): Promise<void> {
  const runs = await loadRuns(control, migration);
  const names = new Set([DEFAULT_RUN_NAMES.backfill, DEFAULT_RUN_NAMES.sweep, ...Object.keys(runs)]);
  for (const name of names) {
    const run = CHECKPOINTS.backfillRun(name);
    if (await checkpointExists(control, migration, run))
      await saveCheckpoint(control, migration, run, { complete: false, reset: true });
    await control.dropRanges(migration, name);
  }
  await saveCheckpoint(control, migration, CHECKPOINTS.backfillRuns, {});
  if (await checkpointExists(control, migration, CHECKPOINTS.lastVerification))
    await saveCheckpoint(control, migration, CHECKPOINTS.lastVerification, null);
  // No counts are the same as zero counts to the gates, and leave no row behind.
  for (const i of await control.instances(migration, new Date(0)))
    await deleteCheckpoint(control, migration, CHECKPOINTS.shadow(i.instanceId));
  await control.appendAudit(migration, {
    actor,
    action: 'facts-reset',
    reason: `${reason}: backfill, verification and shadow facts for new cleared`,
    forced: false,
  });
}
