import { checkGates, GATES_INTO, type GateCheck, type MigrationFacts } from '../../migration/gates.js';
import { nextPhase, PHASES, PHASE_RULES, type Phase } from '../../migration/phases.js';
import type { CliContext } from '../context.js';
import { color, mark } from '../output.js';

export interface StatusReport {
  readonly migration: string;
  readonly phase: Phase;
  readonly version: number;
  readonly rampPercent: number;
  readonly strict: boolean;
  readonly writesPaused: boolean;
  readonly authoritative: 'old' | 'new';
  readonly instances: readonly { readonly instanceId: string; readonly host: string; readonly phaseVersion: number; readonly acknowledged: boolean; readonly lastSeenMsAgo: number }[];
  readonly backfill: { readonly complete: boolean; readonly started: boolean; readonly ranges: number; readonly rangesComplete: number };
  readonly repairQueue: number;
  readonly deadLetters: number;
  readonly lastVerification: MigrationFacts['lastVerification'] | null;
  readonly shadow: MigrationFacts['shadow'];
  readonly next: Phase | null;
  readonly gates: readonly GateCheck[];
  /** The newest audit entries: who changed what, when, why, forced or not. */
  readonly recentChanges: readonly { readonly at: string; readonly actor: string; readonly action: string; readonly from: string | null; readonly to: string; readonly version: number; readonly forced: boolean; readonly reason: string }[];
}

export async function status(ctx: CliContext): Promise<{ report: StatusReport; facts: MigrationFacts }> {
  const facts = await ctx.migration.facts();
  const s = facts.state;
  const next = nextPhase(s.phase);
  const ranges = await ctx.control.ranges(ctx.spec.name, 'backfill');
  const audit = await ctx.migration.auditLog(5);
  return {
    facts,
    report: {
      migration: ctx.spec.name,
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
      })),
      backfill: { ...facts.backfill, ranges: ranges.length, rangesComplete: ranges.filter((r) => r.complete).length },
      repairQueue: facts.repairDepth,
      deadLetters: facts.deadLetters,
      lastVerification: facts.lastVerification ?? null,
      shadow: facts.shadow,
      next: next ?? null,
      gates: next ? checkGates(next, facts, ctx.thresholds) : [],
      recentChanges: audit.map((e) => ({
        at: e.at.toISOString(),
        actor: e.actor,
        action: e.action,
        from: e.from ? e.from.phase : null,
        to: e.to.phase,
        version: e.version,
        forced: e.forced,
        reason: e.reason,
      })),
    },
  };
}

export function formatStatus(r: StatusReport): string {
  const phases = PHASES.map((p) => (p === r.phase ? color.bold(color.cyan(`[${p}${p === 'ramp' ? ` ${r.rampPercent} %` : ''}]`)) : color.dim(p))).join(' → ');
  const lines = [
    `${color.bold(r.migration)}  phase ${r.phase} (version ${r.version}), ${r.authoritative} is authoritative${r.strict ? ', strict dual writes' : ''}${r.writesPaused ? color.yellow(', writes paused for a cutover') : ''}`,
    `  ${phases}`,
    `  instances  ${r.instances.length === 0 ? 'none live' : r.instances.map((i) => `${i.instanceId} ${i.acknowledged ? mark(true) : `${mark(false)} at version ${i.phaseVersion}`}`).join(', ')}`,
    `  backfill   ${r.backfill.complete ? 'complete' : r.backfill.started ? 'started, not complete' : 'not started'}${r.backfill.ranges > 0 ? ` (${r.backfill.rangesComplete}/${r.backfill.ranges} ranges)` : ''}${r.deadLetters > 0 ? `, ${r.deadLetters} dead letter(s)` : ''}`,
    `  repairs    ${r.repairQueue} pending`,
    `  verified   ${r.lastVerification ? `${r.lastVerification.status} (${r.lastVerification.mode}, ${r.lastVerification.at}, in ${r.lastVerification.phase}): ${r.lastVerification.missing} missing, ${r.lastVerification.extra} extra, ${r.lastVerification.different} different` : 'never'}`,
    `  shadow     ${r.shadow.comparisons} comparisons, ${r.shadow.mismatches} mismatches in this phase`,
  ];
  if (r.recentChanges.length > 0) {
    lines.push('  recent changes:');
    for (const c of r.recentChanges) lines.push(`    ${c.at} ${c.actor} ${c.action} ${c.from ?? '-'} → ${c.to}${c.forced ? color.yellow(' FORCED') : ''}: ${c.reason}`);
  }
  if (r.next) {
    lines.push(`  gates into ${r.next}:`);
    if (r.gates.length === 0) lines.push('    none');
    for (const g of r.gates) lines.push(`    ${mark(g.ok)} ${g.gate.padEnd(15)} ${g.detail}`);
  }
  return lines.join('\n');
}

/** Every gate of every phase still ahead, for the plan. */
export function gatesAhead(phase: Phase, facts: MigrationFacts, thresholds: CliContext['thresholds']): { phase: Phase; gates: GateCheck[] }[] {
  return PHASES.slice(PHASES.indexOf(phase) + 1).map((p) => ({ phase: p, gates: GATES_INTO[p].length > 0 ? checkGates(p, facts, thresholds) : [] }));
}
