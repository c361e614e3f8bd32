import { lastEntryIntoOldOnly, loadRuns } from '../control/backfill-runs.js';
import { CHECKPOINTS, DEFAULT_RUN_NAMES, loadCheckpoint, type BackfillProgressRecord } from '../control/checkpoints.js';
import type { ControlStore } from '../control/control-store.js';
import { nextPhase, PHASES } from '../core/phases.js';
import { readFacts } from '../migration/facts.js';
import { checkGates, type GateThresholds, type MigrationFacts } from '../migration/gates.js';
import type { MetricsSource } from '../migration/metrics-port.js';
import type { FigureName, Sample } from './catalogue.js';
import { DIFFERENCE_KINDS } from './labels.js';

/** The control store's figures of one migration, by figure. */
export type ControlSamples = Map<FigureName, Sample[]>;

const seconds = (d: Date | string): number => new Date(d).getTime() / 1000;

/** Adds samples of one migration: `labels` are the figure's own, `migration` is added first. */
function collector(migration: string): {
  readonly out: ControlSamples;
  readonly add: (figure: FigureName, value: number, labels?: Readonly<Record<string, string>>) => void;
} {
  const out: ControlSamples = new Map();
  return {
    out,
    add: (figure, value, labels = {}) => {
      const list = out.get(figure) ?? [];
      list.push({ labels: { migration, ...labels }, value });
      out.set(figure, list);
    },
  };
}

type Add = ReturnType<typeof collector>['add'];

function phaseFigures(add: Add, facts: MigrationFacts): void {
  const s = facts.state;
  for (const p of PHASES) add('phase', p === s.phase ? 1 : 0, { phase: p });
  add('phaseVersion', s.version);
  add('phaseChanged', seconds(s.changedAt));
  add('rampRatio', s.rampPercent / 100);
  add('writesPaused', s.writesPaused ? 1 : 0);
  add('strictWrites', s.strict ? 1 : 0);
  const byVersion = new Map<number, number>();
  for (const i of facts.fleet) byVersion.set(i.phaseVersion, (byVersion.get(i.phaseVersion) ?? 0) + 1);
  for (const [v, n] of byVersion) add('fleetInstances', n, { phase_version: String(v) });
  add('fleetUnacknowledged', facts.fleet.filter((i) => i.phaseVersion < s.version).length);
}

function queueFigures(add: Add, facts: MigrationFacts, thresholds: GateThresholds): void {
  add('repairQueueDepth', facts.repairDepth);
  add('parkedRepairs', facts.parked.count);
  add('deadLetters', facts.deadLetters);
  add('backfillComplete', facts.backfill.complete ? 1 : 0);
  const v = facts.lastVerification;
  if (v) {
    for (const kind of DIFFERENCE_KINDS) add('verifyDifferences', v[kind], { kind });
    add('verifyMatched', v.matched);
    add('verifyTime', seconds(v.at));
    add('verifyInfo', 1, { mode: v.mode, status: v.status, phase: v.phase });
  }
  const { comparisons, mismatches } = facts.shadow;
  add('shadowPhaseComparisons', comparisons);
  add('shadowPhaseMismatches', mismatches);
  if (comparisons > 0) add('shadowMismatchRatio', mismatches / comparisons);
  const next = nextPhase(facts.state.phase);
  if (next)
    for (const g of checkGates(next, facts, thresholds)) add('gatePassing', g.ok ? 1 : 0, { to: next, gate: g.gate });
}

/** A run's progress record, unless there is none, it does not decode, or it is from before the last rollback to old-only. */
async function progressOf(
  control: ControlStore,
  migration: string,
  run: string,
  sinceVersion: number,
): Promise<BackfillProgressRecord | undefined> {
  try {
    const record = await loadCheckpoint(control, migration, CHECKPOINTS.backfillProgress(run));
    return record && record.phaseVersion >= sinceVersion ? record : undefined;
  } catch {
    return undefined; // a record that does not decode hides one run's progress, not every figure
  }
}

async function backfillFigures(add: Add, control: ControlStore, migration: string): Promise<void> {
  const since = lastEntryIntoOldOnly(await control.auditLog(migration, { limit: 500 }));
  const runs = new Set([
    DEFAULT_RUN_NAMES.backfill,
    DEFAULT_RUN_NAMES.sweep,
    ...Object.keys(await loadRuns(control, migration)),
  ]);
  for (const run of runs) {
    const p = await progressOf(control, migration, run, since?.version ?? 0);
    if (!p) continue;
    const labels = { run };
    add('backfillRows', p.rowsDone, labels);
    add('backfillProgress', p.total > 0 ? Math.min(1, p.rowsDone / p.total) : p.active ? 0 : 1, labels);
    add('backfillRate', p.active ? p.rowsPerSecond : 0, labels);
    if (p.active && p.etaMs !== undefined) add('backfillEta', p.etaMs / 1000, labels);
    add('backfillRunning', p.active ? 1 : 0, labels);
    add('backfillProgressAt', seconds(p.at), labels);
  }
}

/**
 * Reads the fleet-wide figures of one migration from its control store:
 * phase and version, fleet, queues, backfill runs, the last verification,
 * the shadow gate's counts and the gates into the next phase. A migration
 * with no state yet has only `midair_control_store_up`; a read that fails
 * has that at 0 and nothing else (no stale figure passes for a fresh one).
 */
export async function readControlFigures(source: MetricsSource, thresholds: GateThresholds): Promise<ControlSamples> {
  const { migration } = source;
  const { out, add } = collector(migration);
  try {
    const control = source.control;
    if (await control.getState(migration)) {
      const facts = await readFacts(control, migration, source.instanceExpiryMs ?? 10_000);
      phaseFigures(add, facts);
      queueFigures(add, facts, source.thresholds ?? thresholds);
      await backfillFigures(add, control, migration);
    }
  } catch {
    const failed = collector(migration);
    failed.add('controlUp', 0);
    return failed.out;
  }
  add('controlUp', 1);
  return out;
}
