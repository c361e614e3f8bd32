import { CHECKPOINTS, loadCheckpoint, saveCheckpoint, type BackfillFact, type BackfillRuns } from './checkpoints.js';
import type { AuditEntry, ControlStore } from './control-store.js';

/** The backfill runs recorded for the gates (by run name). */
export async function loadRuns(control: ControlStore, migration: string): Promise<BackfillRuns> {
  return (await loadCheckpoint(control, migration, CHECKPOINTS.backfillRuns)) ?? {};
}

/**
 * Records a backfill run's progress where the gates read it: started (not
 * complete) when it begins, complete when it ends, with the phase version it
 * ended under and its dead letters. Sweeps are not backfills and are not recorded.
 */
export async function recordBackfillRun(
  control: ControlStore,
  migration: string,
  name: string,
  fact: Omit<BackfillFact, 'name'>,
): Promise<void> {
  const runs = await loadRuns(control, migration);
  await saveCheckpoint(control, migration, CHECKPOINTS.backfillRuns, { ...runs, [name]: { name, ...fact } });
}

/** The audit entry of the last move into `old-only` (a rollback or a halt, not the creation), newest first in `audit`. */
export function lastEntryIntoOldOnly(audit: readonly AuditEntry[]): AuditEntry | undefined {
  return audit.find((e) => e.to.phase === 'old-only' && e.from !== undefined && e.from.phase !== 'old-only');
}
