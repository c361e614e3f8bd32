import { DEFAULT_RUN_NAMES, type VerificationSummary } from '../control/checkpoints.js';
import type { InstanceInfo, ParkedRepair, PhaseState } from '../control/control-store.js';
import { PHASES, type Phase } from '../core/phases.js';
import { grouped, millis, percent } from '../core/format.js';

/**
 * The cutover checklist as data: which conditions must hold before entering
 * each phase. Each is checked against the migration's real state and said
 * in plain words, with the figure measured.
 */
export const GATES = [
  'fleet',
  'backfill',
  'verification',
  'shadow',
  'capacity',
  'repairs',
  'parked',
  'rollback-window',
] as const;
export type Gate = (typeof GATES)[number];

export const GATES_INTO: Readonly<Record<Phase, readonly Gate[]>> = Object.freeze({
  'old-only': [],
  'dual-write': ['fleet'],
  'shadow-read': ['fleet', 'backfill'],
  ramp: ['fleet', 'backfill', 'verification', 'shadow', 'capacity', 'repairs', 'parked'],
  'new-primary': ['fleet', 'backfill', 'verification', 'shadow', 'capacity', 'repairs', 'parked'],
  'old-read-only': ['fleet', 'repairs', 'parked'],
  complete: ['fleet', 'repairs', 'parked', 'verification', 'rollback-window'],
});

export interface GateThresholds {
  /** Shadow comparisons needed in the current phase. Default 1000. */
  readonly minComparisons?: number;
  /** Highest share of mismatching comparisons. Default 0.001. */
  readonly maxMismatchRate?: number;
  /** Time after entering new-primary before complete. Default 48 h. */
  readonly rollbackWindowMs?: number;
  /** Highest ratio of new's p99 to old's over the application's calls in the current phase. Default 2. */
  readonly capacityLatencyFactor?: number;
  /** Highest share of new's calls that failed for the store's own reasons (timeouts, connections, …). Default 0.001. */
  readonly maxNewErrorRate?: number;
  /** Calls needed on each store in the current phase, fleet-wide, before they are compared. Default 1000. */
  readonly minCapacityCalls?: number;
}

/** The thresholds a gate applies when not given one. */
export const DEFAULT_THRESHOLDS: Readonly<Required<GateThresholds>> = Object.freeze({
  minComparisons: 1000,
  maxMismatchRate: 0.001,
  rollbackWindowMs: 48 * 3_600_000,
  capacityLatencyFactor: 2,
  maxNewErrorRate: 0.001,
  minCapacityCalls: 1000,
});

// What the control store keeps for the gates: its shapes and decoders are in control/checkpoints.ts.
export type { BackfillFact, VerificationSummary } from '../control/checkpoints.js';

/** What the gates look at, read from the control store. */
export interface MigrationFacts {
  readonly state: PhaseState;
  /** Live instances. */
  readonly fleet: readonly InstanceInfo[];
  /** Since the last entry into old-only (facts from before it no longer count). `run`: the name of a completed run. */
  readonly backfill: { readonly complete: boolean; readonly started: boolean; readonly run?: string };
  readonly lastVerification: VerificationSummary | undefined;
  /** Shadow comparisons made in the current phase version by live instances. */
  readonly shadow: { readonly comparisons: number; readonly mismatches: number };
  readonly repairDepth: number;
  /** Repairs that failed for good and wait for the operator: how many, and the oldest few. */
  readonly parked: { readonly count: number; readonly sample: readonly ParkedRepair[] };
  readonly deadLetters: number;
  /** When new-primary was last entered. */
  readonly enteredNewPrimaryAt: Date | undefined;
  /** The last entry into old-only: backfill and verification facts recorded before it are left out. */
  readonly factsResetAt?: Date | undefined;
  /**
   * The calls live instances made on each store for the application in the
   * current phase version (reads, dual writes, shadow reads), summed over
   * the fleet: what the capacity gate compares.
   */
  readonly capacity?:
    | {
        readonly old: SideFigures;
        readonly new: SideFigures;
        /** Absent where the mix is not known: new's p99 is then held to old's overall p99. */
        readonly baseline?: CapacityBaseline | undefined;
      }
    | undefined;
  readonly now: Date;
}

/** Calls on one store over the fleet: how many, how many failed, and their p99. */
export interface CallKindFigures {
  readonly calls: number;
  readonly errors: number;
  /** ms; 0 with no calls. */
  readonly p99Ms: number;
}

/** One store's calls over the fleet, and the same for its reads alone and its writes alone (where known). */
export interface SideFigures extends CallKindFigures {
  readonly reads?: CallKindFigures;
  readonly writes?: CallKindFigures;
}

/** What new's p99 is held to: old's p99 had old taken new's mix of reads and writes. */
export interface CapacityBaseline {
  readonly p99Ms: number;
  /** The share of writes among new's calls, which old's are weighted to. */
  readonly writeShare: number;
}

export interface GateCheck {
  readonly gate: Gate;
  readonly ok: boolean;
  readonly detail: string;
}

const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`;

/** Checks one gate against the facts. */
export function checkGate(gate: Gate, f: MigrationFacts, t: GateThresholds = {}): GateCheck {
  switch (gate) {
    case 'fleet':
      return checkFleet(gate, f);
    case 'backfill':
      return checkBackfill(gate, f);
    case 'verification':
      return checkVerification(gate, f);
    case 'shadow':
      return checkShadow(gate, f, t);
    case 'capacity':
      return checkCapacity(gate, f, t);
    case 'repairs':
      return checkRepairs(gate, f);
    case 'parked':
      return checkParked(gate, f);
    case 'rollback-window':
      return checkRollbackWindow(gate, f, t);
  }
}

/** Why a migration with no live instance must not move: no application would apply the phase to its writes. */
export function noLiveInstance(migration: string): string {
  return `no live instance of the application follows migration ${migration}: a phase change would govern no write. Start the application with it (await migration.start()) and let it join the fleet, or pass --force if nothing uses this migration yet`;
}

function checkFleet(gate: 'fleet', f: MigrationFacts): GateCheck {
  if (f.fleet.length === 0) return { gate, ok: false, detail: noLiveInstance(f.state.migration) };
  const behind = f.fleet.filter((i) => i.phaseVersion < f.state.version);
  return behind.length === 0
    ? { gate, ok: true, detail: `${f.fleet.length} live instance(s) acknowledged phase version ${f.state.version}` }
    : {
        gate,
        ok: false,
        detail: `${behind.length} of ${f.fleet.length} instance(s) still on an older phase: ${behind.map((i) => describeInstance(i, f.now)).join('; ')}`,
      };
}

function checkBackfill(gate: 'backfill', f: MigrationFacts): GateCheck {
  if (!f.backfill.complete) {
    return {
      gate,
      ok: false,
      detail: f.backfill.started
        ? 'backfill still running or stopped before the end: run `midair backfill`'
        : 'no backfill yet: run `midair backfill`',
    };
  }
  const run = f.backfill.run && f.backfill.run !== DEFAULT_RUN_NAMES.backfill ? ` (run ${f.backfill.run})` : '';
  return f.deadLetters > 0
    ? {
        gate,
        ok: false,
        detail: `backfill complete${run} with ${f.deadLetters} dead letter(s): rows new does not have; fix and \`midair dead-letters retry\`, or accept them with \`midair dead-letters accept --force --reason "<why>"\``,
      }
    : { gate, ok: true, detail: `backfill complete${run}, no dead letters` };
}

function checkVerification(gate: 'verification', f: MigrationFacts): GateCheck {
  const v = f.lastVerification;
  const needsLate = f.state.phase === 'new-primary' || f.state.phase === 'old-read-only';
  if (!v) return { gate, ok: false, detail: 'no verification yet: run `midair verify`' };
  if (v.mode !== 'full')
    return { gate, ok: false, detail: `the last verification was a ${v.mode} check; run \`midair verify\` (full)` };
  if (v.status !== 'equal')
    return {
      gate,
      ok: false,
      detail: `the last verification (${v.at}) found ${v.missing} missing, ${v.extra} extra, ${v.different} different: run \`midair repair\`, then verify again`,
    };
  if (needsLate && PHASES.indexOf(v.phase) < PHASES.indexOf('new-primary')) {
    return {
      gate,
      ok: false,
      detail: `the last clean verification ran in ${v.phase}; verify again now that new is authoritative`,
    };
  }
  return { gate, ok: true, detail: `clean full verification at ${v.at} (${v.matched} entities, in ${v.phase})` };
}

function checkShadow(gate: 'shadow', f: MigrationFacts, t: GateThresholds): GateCheck {
  const min = t.minComparisons ?? DEFAULT_THRESHOLDS.minComparisons;
  const max = t.maxMismatchRate ?? DEFAULT_THRESHOLDS.maxMismatchRate;
  const { comparisons, mismatches } = f.shadow;
  const rate = comparisons === 0 ? 0 : mismatches / comparisons;
  if (comparisons < min)
    return {
      gate,
      ok: false,
      detail: `${comparisons} of the ${min} shadow comparisons needed in this phase so far`,
    };
  if (rate > max)
    return {
      gate,
      ok: false,
      detail: `${mismatches} of ${comparisons} shadow comparisons mismatched (${percent(rate, 2)}, limit ${percent(max, 2)})`,
    };
  return {
    gate,
    ok: true,
    detail: `${mismatches} of ${comparisons} shadow comparisons mismatched (${percent(rate, 2)}, limit ${percent(max, 2)})`,
  };
}

/** The capacity gate's thresholds with their defaults (docs/decisions/0021). */
export function capacityThresholds(t: GateThresholds): {
  readonly factor: number;
  readonly maxErrorRate: number;
  readonly minCalls: number;
} {
  return {
    factor: t.capacityLatencyFactor ?? DEFAULT_THRESHOLDS.capacityLatencyFactor,
    maxErrorRate: t.maxNewErrorRate ?? DEFAULT_THRESHOLDS.maxNewErrorRate,
    minCalls: t.minCapacityCalls ?? DEFAULT_THRESHOLDS.minCapacityCalls,
  };
}

const times = (x: number): string => `${Number.isInteger(x) ? x.toFixed(1) : String(x)}×`;

/**
 * New's p99 within `capacityLatencyFactor` × old's (at new's mix of reads and
 * writes) and its error rate within `maxNewErrorRate`, over at least
 * `minCapacityCalls` calls on each store in the current phase version,
 * fleet-wide.
 */
function checkCapacity(gate: 'capacity', f: MigrationFacts, t: GateThresholds): GateCheck {
  const { factor, maxErrorRate, minCalls } = capacityThresholds(t);
  const c = f.capacity;
  if (!c)
    return {
      gate,
      ok: false,
      detail:
        "no live instance reports its calls on the stores: the gate compares the application's own traffic, which each instance reports with its heartbeat (a midair older than this gate does not)",
    };
  const { old, new: neu } = c;
  if (neu.calls < minCalls)
    return {
      gate,
      ok: false,
      detail: `new took ${grouped(neu.calls)} of the ${grouped(minCalls)} calls needed in this phase so far (old ${grouped(old.calls)}): it takes the application's second writes and shadow reads; wait for more traffic, or lower gates.minCapacityCalls`,
    };
  if (old.calls < minCalls)
    return {
      gate,
      ok: false,
      detail: `old took ${grouped(old.calls)} of the ${grouped(minCalls)} calls needed in this phase so far to compare new with (new ${grouped(neu.calls)})`,
    };
  // Only with gates.minCapacityCalls at 0: nothing measured to hold new to.
  if (neu.calls === 0 || old.calls === 0)
    return {
      gate,
      ok: true,
      detail: `nothing to compare: ${grouped(neu.calls)} calls on new and ${grouped(old.calls)} on old in this phase (gates.minCapacityCalls is 0)`,
    };
  const rate = neu.errors / neu.calls;
  const base = c.baseline?.p99Ms ?? old.p99Ms;
  // Both p99s are bucket edges of one scale: a hair of slack keeps an exact multiple of the limit from failing on rounding.
  const slow = neu.p99Ms > factor * base * (1 + 1e-9);
  const failing = rate > maxErrorRate;
  const mix = c.baseline
    ? `, old's p99 taken at new's mix of ${percent(c.baseline.writeShare, 0)} writes (${millis(old.p99Ms)} at its own)`
    : '';
  const figures = `new p99 ${millis(neu.p99Ms)} vs old ${millis(base)} (${(neu.p99Ms / base).toFixed(2)}×, limit ${times(factor)}) over ${grouped(neu.calls)} calls on new and ${grouped(old.calls)} on old${mix}; new's errors ${grouped(neu.errors)} (${percent(rate, 2)}, limit ${percent(maxErrorRate, 2)})`;
  const why = [slow ? 'new is slower than the limit' : '', failing ? 'new fails more often than the limit' : '']
    .filter(Boolean)
    .join(', and ');
  return { gate, ok: !slow && !failing, detail: why ? `${why}: ${figures}` : figures };
}

function checkRepairs(gate: 'repairs', f: MigrationFacts): GateCheck {
  return f.repairDepth === 0
    ? { gate, ok: true, detail: 'no pending repairs' }
    : {
        gate,
        ok: false,
        detail: `${f.repairDepth} repair(s) pending: wait for the repairers, or run \`midair repair\``,
      };
}

function checkParked(gate: 'parked', f: MigrationFacts): GateCheck {
  if (f.parked.count === 0) return { gate, ok: true, detail: 'no parked repairs' };
  const named = f.parked.sample.map(
    (p) =>
      `${p.keyId} (${p.direction}, ${p.problem.code} on ${p.problem.store}${p.problem.constraint ? `, constraint ${p.problem.constraint}` : ''})`,
  );
  const more = f.parked.count > named.length ? `, and ${f.parked.count - named.length} more` : '';
  return {
    gate,
    ok: false,
    detail: `${f.parked.count} parked repair(s) wait for the operator: ${named.join('; ')}${more}; see \`midair repairs\``,
  };
}

function checkRollbackWindow(gate: 'rollback-window', f: MigrationFacts, t: GateThresholds): GateCheck {
  const window = t.rollbackWindowMs ?? DEFAULT_THRESHOLDS.rollbackWindowMs;
  if (!f.enteredNewPrimaryAt) return { gate, ok: false, detail: 'new-primary was never entered' };
  const waited = f.now.getTime() - f.enteredNewPrimaryAt.getTime();
  return waited >= window
    ? { gate, ok: true, detail: `${hours(waited)} since entering new-primary (window ${hours(window)})` }
    : {
        gate,
        ok: false,
        detail: `only ${hours(waited)} of the ${hours(window)} rollback window since entering new-primary; complete drops the way back`,
      };
}

/** An instance as a person finds it: id, host, pid (from the default id), the version it is on, and how long ago it was seen. */
export function describeInstance(i: InstanceInfo, now: Date): string {
  const pid = /:(\d+):[^:]*$/.exec(i.instanceId)?.[1];
  const seen = Math.max(0, Math.round((now.getTime() - i.lastSeen.getTime()) / 1000));
  const up = Math.max(0, Math.round((now.getTime() - i.startedAt.getTime()) / 1000));
  return `${i.instanceId} (host ${i.host}${pid ? `, pid ${pid}` : ''}, at version ${i.phaseVersion}, last seen ${seen} s ago, up ${up} s)`;
}

/** Every gate into `to`, checked. */
export function checkGates(to: Phase, facts: MigrationFacts, thresholds: GateThresholds = {}): GateCheck[] {
  return GATES_INTO[to].map((g) => checkGate(g, facts, thresholds));
}
