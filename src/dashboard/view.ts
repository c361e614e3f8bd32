import type { StatusReport } from '../cli/commands/status.js';
import { advanceConfirmation } from '../cli/commands/phase.js';
import type { SideFigures } from '../migration/gates.js';
import { DEFAULT_THRESHOLDS, type GateThresholds, type MigrationFacts } from '../migration/gates.js';
import { advanceTarget, rollbackResyncs, rollbackTarget } from '../migration/operator-rules.js';
import type { Phase } from '../core/phases.js';
import type { ControlsView, MigrationView, MismatchView, Sample, SideView } from './api-types.js';
import type { BackfillFigures } from './backfill-progress.js';

const side = (f: SideFigures): SideView => ({
  calls: f.calls,
  errors: f.errors,
  p99Ms: f.p99Ms,
  errorRate: f.calls === 0 ? 0 : f.errors / f.calls,
});

/** `undefined` where the CLI's rule refuses (the same rules, so the page offers only what the command would run). */
const allowed = <T>(rule: () => T): T | undefined => {
  try {
    return rule();
  } catch {
    return undefined;
  }
};

/** What the controls may do in this state, by the rules `midair phase`, `strict` and `backfill` check. */
export function controlsOf(migration: string, phase: Phase, started: boolean): ControlsView {
  const to = allowed(() => advanceTarget(migration, phase));
  const back = allowed(() => rollbackTarget(migration, phase));
  return {
    advance: to ? { to, confirm: advanceConfirmation(to) ?? null, takesRamp: to === 'ramp' } : null,
    rollback: back ? { to: back, resyncs: rollbackResyncs(phase) } : null,
    ramp: phase === 'ramp',
    strict: started,
    backfill: started,
  };
}

/** The page's view of one migration: the `status` report, with the backfill's figures and what only the dashboard hears. */
export function viewOf(
  report: StatusReport,
  facts: MigrationFacts,
  extra: {
    readonly thresholds: GateThresholds;
    readonly backfill: BackfillFigures;
    readonly recent: readonly MismatchView[] | null;
    readonly at: Date;
  },
): MigrationView {
  const { comparisons, mismatches } = report.shadow;
  const capacity = facts.capacity;
  return {
    migration: report.migration,
    at: extra.at.toISOString(),
    started: report.started,
    stores: report.stores,
    phase: report.phase,
    version: report.version,
    rampPercent: report.rampPercent,
    strict: report.strict,
    writesPaused: report.writesPaused,
    authoritative: report.authoritative,
    next: report.next,
    gates: report.gates,
    warnings: report.warnings,
    instances: report.instances,
    backfill: {
      run: facts.backfill.run ?? 'backfill',
      started: report.backfill.started,
      complete: report.backfill.complete,
      ranges: report.backfill.ranges,
      rangesComplete: report.backfill.rangesComplete,
      ...extra.backfill,
    },
    verification: report.lastVerification ?? null,
    shadow: {
      comparisons,
      mismatches,
      rate: comparisons === 0 ? 0 : mismatches / comparisons,
      maxRate: extra.thresholds.maxMismatchRate ?? DEFAULT_THRESHOLDS.maxMismatchRate,
      minComparisons: extra.thresholds.minComparisons ?? DEFAULT_THRESHOLDS.minComparisons,
      recent: extra.recent,
    },
    repairs: {
      pending: report.repairQueue,
      parked: report.parkedRepairs,
      parkedSample: facts.parked.sample.map((p) => ({
        keyId: p.keyId,
        direction: p.direction,
        code: p.problem.code,
        store: p.problem.store,
        ...(p.problem.constraint ? { constraint: p.problem.constraint } : {}),
      })),
      deadLetters: report.deadLetters,
    },
    capacity: capacity ? { old: side(capacity.old), new: side(capacity.new) } : null,
    audit: report.recentChanges,
    factsResetAt: report.factsResetAt,
    controls: controlsOf(report.migration, report.phase, report.started),
    error: null,
  };
}

/** The phase as the charts label it: ramp with its percentage. */
export const phaseLabel = (v: Pick<MigrationView, 'phase' | 'rampPercent'>): string =>
  v.phase === 'ramp' ? `ramp ${v.rampPercent} %` : v.phase;

/** The point the charts take from a view. */
export function sampleOf(view: MigrationView, at: number): Sample {
  return {
    at,
    phase: phaseLabel(view),
    version: view.version,
    comparisons: view.shadow.comparisons,
    mismatches: view.shadow.mismatches,
    mismatchRate: view.shadow.rate,
    backfillRowsPerSecond: view.backfill.complete ? null : view.backfill.rowsPerSecond,
    repairQueue: view.repairs.pending,
    parked: view.repairs.parked,
    old: view.capacity?.old ?? null,
    new: view.capacity?.new ?? null,
  };
}
