import { INITIAL_SETTING } from '../../control/memory-control-store.js';
import { errorSummary } from '../../core/errors.js';
import {
  capacityThresholds,
  checkGates,
  describeInstance,
  GATES_INTO,
  noLiveInstance,
  type GateCheck,
  type GateThresholds,
  type MigrationFacts,
  type CapacityBaseline,
  type SideFigures,
} from '../../migration/gates.js';
import { grouped, millis, percent } from '../../core/format.js';
import { nextPhase, PHASES, PHASE_RULES, type Phase } from '../../core/phases.js';
import type { CliContext } from '../context.js';
import { auditLine, type AuditLine } from './audit.js';
import { createdBySetup } from '../schema-guard.js';
import { color, mark } from '../output.js';

/** Whether a store answered (its schema check ran), and what its check found. */
export interface Reachability {
  readonly reachable: boolean;
  readonly errors?: number;
  readonly warnings?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface StatusReport {
  readonly migration: string;
  /** False until a command that writes (or an instance) created the migration's state. */
  readonly started: boolean;
  readonly stores: { readonly old: Reachability; readonly new: Reachability };
  readonly phase: Phase;
  readonly version: number;
  readonly rampPercent: number;
  readonly strict: boolean;
  readonly writesPaused: boolean;
  readonly authoritative: 'old' | 'new';
  readonly instances: readonly {
    readonly instanceId: string;
    readonly host: string;
    readonly phaseVersion: number;
    readonly acknowledged: boolean;
    readonly lastSeenMsAgo: number;
    readonly description: string;
  }[];
  readonly backfill: {
    readonly complete: boolean;
    readonly started: boolean;
    readonly ranges: number;
    readonly rangesComplete: number;
  };
  readonly repairQueue: number;
  readonly parkedRepairs: number;
  readonly deadLetters: number;
  /** The last entry into old-only: backfill and verification facts from before it no longer count. */
  readonly factsResetAt: string | null;
  readonly lastVerification: MigrationFacts['lastVerification'] | null;
  readonly shadow: MigrationFacts['shadow'];
  /**
   * The fleet's calls on each store in this phase version and the capacity
   * gate's limits; null when no live instance reports its calls.
   */
  readonly capacity: CapacityReport | null;
  readonly next: Phase | null;
  readonly gates: readonly GateCheck[];
  /** The newest audit entries: who changed what, when, why, forced or not. */
  readonly recentChanges: readonly AuditLine[];
  /** What the operator should know before moving the phase (no live instance follows the migration). */
  readonly warnings: readonly string[];
}

export interface CapacityReport {
  readonly old: SideFigures;
  readonly new: SideFigures;
  /** Old's p99 at new's mix of reads and writes: what new's p99 is held to (null: old's overall p99 is). */
  readonly baseline: CapacityBaseline | null;
  readonly limits: { readonly latencyFactor: number; readonly maxNewErrorRate: number; readonly minCalls: number };
}

function capacityReport(facts: MigrationFacts, thresholds: GateThresholds): CapacityReport | null {
  const c = facts.capacity;
  if (!c) return null;
  const { factor, maxErrorRate, minCalls } = capacityThresholds(thresholds);
  return {
    old: c.old,
    new: c.new,
    baseline: c.baseline ?? null,
    limits: { latencyFactor: factor, maxNewErrorRate: maxErrorRate, minCalls },
  };
}

/** A store's calls for the status line: p99, how many, how many failed. */
function sideLine(s: SideFigures): string {
  return s.calls === 0
    ? 'no calls'
    : `p99 ${millis(s.p99Ms)} over ${grouped(s.calls)} calls, ${grouped(s.errors)} failed (${percent(s.errors / s.calls, 2)})`;
}

function capacityLine(c: CapacityReport | null): string {
  if (!c) return 'not reported by any live instance';
  const l = c.limits;
  const mix = c.baseline
    ? `, ${millis(c.baseline.p99Ms)} at new's mix (${percent(c.baseline.writeShare, 0)} writes)`
    : '';
  return `new ${sideLine(c.new)}; old ${sideLine(c.old)}${mix} in this phase (limits ${l.latencyFactor}× old's p99, ${percent(l.maxNewErrorRate, 2)} failed, ${grouped(l.minCalls)} calls)`;
}

/** The facts of a migration nothing has run for yet (no state in the control store): old-only, nothing copied. */
function freshFacts(ctx: CliContext): MigrationFacts {
  const now = new Date();
  return {
    state: { migration: ctx.spec.name, ...INITIAL_SETTING, version: 0, changedAt: now },
    fleet: [],
    backfill: { complete: false, started: false },
    lastVerification: undefined,
    shadow: { comparisons: 0, mismatches: 0 },
    repairDepth: 0,
    parked: { count: 0, sample: [] },
    deadLetters: 0,
    enteredNewPrimaryAt: undefined,
    now,
  };
}

/** The gates' facts, or those of a migration not started yet. Reads only. */
export async function factsOf(ctx: CliContext): Promise<{ facts: MigrationFacts; started: boolean }> {
  return (await ctx.state())
    ? { facts: await ctx.migration.facts(), started: true }
    : { facts: freshFacts(ctx), started: false };
}

async function reach(ctx: CliContext, side: 'old' | 'new'): Promise<Reachability> {
  const unopened = ctx.unopened[side];
  if (unopened) return { reachable: false, error: errorSummary(unopened) };
  try {
    const report = await ctx[side].check();
    const errors = report.problems.filter((p) => p.severity === 'error' && !createdBySetup(p)).length; // as `midair check` counts them
    return { reachable: true, errors, warnings: report.problems.length - errors };
  } catch (err) {
    return { reachable: false, error: errorSummary(err) };
  }
}

/** Whether each store answers: a schema check of each (what `status` shows beside the control store's facts). */
export async function reachability(ctx: CliContext): Promise<StatusReport['stores']> {
  const [old, newSide] = await Promise.all([reach(ctx, 'old'), reach(ctx, 'new')]);
  return { old, new: newSide };
}

/**
 * `midair status`: reads only — the control store, and a schema check of
 * each store to say whether it answers. `o.stores`: what a recent
 * {@link reachability} found, so a caller that reads every second (the
 * dashboard) checks the schemas less often; `o.auditLimit`: how many of the
 * newest audit entries (default 5).
 */
export async function status(
  ctx: CliContext,
  o: { readonly stores?: StatusReport['stores']; readonly auditLimit?: number } = {},
): Promise<{ report: StatusReport; facts: MigrationFacts }> {
  const { facts, started } = await factsOf(ctx);
  const s = facts.state;
  const next = nextPhase(s.phase);
  const ranges = started ? await ctx.control.ranges(ctx.spec.name, facts.backfill.run ?? 'backfill') : [];
  const audit = started ? await ctx.migration.auditLog(o.auditLimit ?? 5) : [];
  const { old: oldReach, new: newReach } = o.stores ?? (await reachability(ctx));
  return {
    facts,
    report: {
      migration: ctx.spec.name,
      started,
      stores: { old: oldReach, new: newReach },
      phase: s.phase,
      version: s.version,
      rampPercent: s.rampPercent,
      strict: s.strict,
      writesPaused: s.writesPaused,
      authoritative: PHASE_RULES[s.phase].authoritative,
      instances: facts.fleet.map((i) => ({
        instanceId: i.instanceId,
        host: i.host,
        phaseVersion: i.phaseVersion,
        acknowledged: i.phaseVersion >= s.version,
        lastSeenMsAgo: facts.now.getTime() - i.lastSeen.getTime(),
        description: describeInstance(i, facts.now),
      })),
      backfill: { ...facts.backfill, ranges: ranges.length, rangesComplete: ranges.filter((r) => r.complete).length },
      repairQueue: facts.repairDepth,
      parkedRepairs: facts.parked.count,
      deadLetters: facts.deadLetters,
      factsResetAt: facts.factsResetAt?.toISOString() ?? null,
      lastVerification: facts.lastVerification ?? null,
      shadow: facts.shadow,
      capacity: capacityReport(facts, ctx.thresholds),
      next: next ?? null,
      gates: next ? checkGates(next, facts, ctx.thresholds) : [],
      recentChanges: audit.map(auditLine),
      warnings: facts.fleet.length === 0 ? [noLiveInstance(ctx.spec.name)] : [],
    },
  };
}

export function formatStatus(r: StatusReport): string {
  const phases = PHASES.map((p) =>
    p === r.phase ? color.bold(color.cyan(`[${p}${p === 'ramp' ? ` ${r.rampPercent} %` : ''}]`)) : color.dim(p),
  ).join(' → ');
  const store = (x: Reachability): string =>
    x.reachable
      ? `reachable${x.errors ? color.red(`, ${x.errors} schema error(s)`) : ''}${x.warnings ? `, ${x.warnings} warning(s)` : ''} (\`midair check\`)`
      : color.red(`unreachable: ${x.error?.code ?? 'UNKNOWN'}: ${x.error?.message ?? ''}`);
  const lines = [
    `${color.bold(r.migration)}  phase ${r.phase}${r.started ? ` (version ${r.version})` : ', not started: nothing recorded in the control store yet'}, ${r.authoritative} is authoritative${r.strict ? ', strict dual writes' : ''}${r.writesPaused ? color.yellow(', writes paused for a cutover') : ''}`,
    `  old        ${store(r.stores.old)}`,
    `  new        ${store(r.stores.new)}`,
    `  ${phases}`,
    `  instances  ${r.instances.length === 0 ? 'none live' : r.instances.map((i) => `${i.acknowledged ? mark(true) : mark(false)} ${i.description}`).join('\n             ')}`,
    `  backfill   ${r.backfill.complete ? 'complete' : r.backfill.started ? 'started, not complete' : 'not started'}${r.backfill.ranges > 0 ? ` (${r.backfill.rangesComplete}/${r.backfill.ranges} ranges)` : ''}${r.deadLetters > 0 ? `, ${r.deadLetters} dead letter(s)` : ''}`,
    `  repairs    ${r.repairQueue} pending${r.parkedRepairs > 0 ? color.red(`, ${r.parkedRepairs} parked`) : ''}`,
    `  verified   ${r.lastVerification ? `${r.lastVerification.status} (${r.lastVerification.mode}, ${r.lastVerification.at}, in ${r.lastVerification.phase}): ${r.lastVerification.missing} missing, ${r.lastVerification.extra} extra, ${r.lastVerification.different} different` : 'never'}`,
    `  shadow     ${r.shadow.comparisons} comparisons, ${r.shadow.mismatches} mismatches in this phase`,
    `  capacity   ${capacityLine(r.capacity)}`,
  ];
  for (const w of r.warnings) lines.push(color.yellow(`  warning    ${w}`));
  if (r.factsResetAt)
    lines.push(
      `  reset      back in old-only at ${r.factsResetAt}: backfill and verification from before it no longer count`,
    );
  if (r.recentChanges.length > 0) {
    lines.push('  recent changes:');
    for (const c of r.recentChanges)
      lines.push(
        `    ${c.at} ${c.actor} ${c.action} ${c.from ?? '-'} → ${c.to}${c.forced ? color.yellow(' FORCED') : ''}: ${c.reason}`,
      );
  }
  if (r.next) {
    lines.push(`  gates into ${r.next}:`);
    if (r.gates.length === 0) lines.push('    none');
    for (const g of r.gates) lines.push(`    ${mark(g.ok)} ${g.gate.padEnd(15)} ${g.detail}`);
  }
  return lines.join('\n');
}

/** Every gate of every phase still ahead, for the plan. */
export function gatesAhead(
  phase: Phase,
  facts: MigrationFacts,
  thresholds: CliContext['thresholds'],
): { phase: Phase; gates: GateCheck[] }[] {
  return PHASES.slice(PHASES.indexOf(phase) + 1).map((p) => ({
    phase: p,
    gates: GATES_INTO[p].length > 0 ? checkGates(p, facts, thresholds) : [],
  }));
}
