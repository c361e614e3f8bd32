import { checkGate, type GateThresholds, type MigrationFacts } from '../../migration/gates.js';
import { PHASES, PHASE_RULES, type Phase } from '../../core/phases.js';
import type { CliContext } from '../context.js';
import { factsOf } from './status.js';

export type ItemState = 'done' | 'failed' | 'pending';

export interface PlanItem {
  readonly item: string;
  readonly state: ItemState;
  /** What was measured. */
  readonly figure?: string;
}

export interface PlanSection {
  readonly title: string;
  readonly items: readonly PlanItem[];
}

export interface Plan {
  readonly migration: string;
  readonly phase: Phase;
  readonly sections: readonly PlanSection[];
}

const at = (phase: Phase, reached: Phase): boolean => PHASES.indexOf(reached) >= PHASES.indexOf(phase);

/** What every section of the plan is built from. */
interface PlanInputs {
  readonly f: MigrationFacts;
  readonly counts: { old: number; new: number };
  readonly t: GateThresholds;
  readonly phase: Phase;
  readonly gate: (g: Parameters<typeof checkGate>[0], item: string, from: Phase) => PlanItem;
}

function phaseItems({ f, phase }: PlanInputs): PlanItem[] {
  return PHASES.map((p): PlanItem => {
    const rules = PHASE_RULES[p];
    const what = `${p}: writes ${rules.authoritative}${rules.secondWrite ? ' then the other' : ''}, reads ${rules.readsNew === 'never' ? 'old' : rules.readsNew === 'ramped' ? 'new for a share of keys' : 'new'}`;
    return {
      item: what,
      state: PHASES.indexOf(p) < PHASES.indexOf(phase) ? 'done' : p === phase ? 'done' : 'pending',
      figure:
        p === phase
          ? `current (version ${f.state.version}${p === 'ramp' ? `, ${f.state.rampPercent} %` : ''})`
          : undefined,
    };
  });
}

function backfillSection({ f, phase, gate }: PlanInputs): PlanSection {
  return {
    title: 'Backfill',
    items: [
      {
        item: 'dual writes on before copying (fleet acknowledged dual-write)',
        state: at('dual-write', phase) ? 'done' : 'pending',
      },
      gate('backfill', 'backfill complete: every key copied, then keys old no longer has pruned', 'shadow-read'),
      {
        item: 'no dead letters left',
        state: f.deadLetters === 0 ? (f.backfill.started ? 'done' : 'pending') : 'failed',
        figure: `${f.deadLetters} dead letter(s)`,
      },
    ],
  };
}

function shadowSection({ t, phase, gate }: PlanInputs): PlanSection {
  return {
    title: 'Shadow reads',
    items: [
      {
        item: 'shadow reads compare old and new off the hot path',
        state: at('shadow-read', phase) ? 'done' : 'pending',
      },
      gate(
        'shadow',
        `mismatch rate within ${((t.maxMismatchRate ?? 0.001) * 100).toFixed(2)} % over at least ${t.minComparisons ?? 1000} comparisons`,
        'shadow-read',
      ),
    ],
  };
}

function cutoverSection({ f, phase, gate }: PlanInputs): PlanSection {
  return {
    title: 'Cutover',
    items: [
      {
        item: 'ramp reads to new: 10 → 50 → 100 %',
        state: at('new-primary', phase) ? 'done' : 'pending',
        figure: phase === 'ramp' ? `at ${f.state.rampPercent} %` : undefined,
      },
      gate('fleet', 'every live instance on the current phase', 'dual-write'),
      gate('repairs', 'repair queue drained', 'dual-write'),
      {
        item: 'new becomes authoritative (writes freeze briefly and the repair queue drains)',
        state: at('new-primary', phase) ? 'done' : 'pending',
      },
    ],
  };
}

function validationSection({ counts, phase, gate }: PlanInputs): PlanSection {
  return {
    title: 'Validation',
    items: [
      {
        item: 'row counts match',
        state: counts.old === counts.new ? 'done' : at('old-read-only', phase) ? 'pending' : 'failed',
        figure: `old ${counts.old}, new ${counts.new}`,
      },
      gate('verification', 'full verification clean (hashes in each database, differing keys named)', 'ramp'),
    ],
  };
}

function rollbackSection({ phase }: PlanInputs, rollbackWindow: ReturnType<typeof checkGate>): PlanSection {
  return {
    title: 'Rollback plan',
    items: [
      {
        item: at('complete', phase)
          ? 'complete: old is no longer written; there is no way back'
          : at('new-primary', phase)
            ? '`midair phase rollback` re-syncs old from new (verify and repair) and switches back: before the switch out of new-primary, right after it out of old-read-only'
            : '`midair phase rollback` goes back one phase at once: old is authoritative, nothing to copy back',
        state: at('complete', phase) ? 'failed' : 'done',
      },
      {
        item: 'rollback window before complete',
        state: rollbackWindow.ok ? 'done' : 'pending',
        figure: rollbackWindow.detail,
      },
    ],
  };
}

/**
 * The migration plan of a zero-downtime move — phases, backfill, shadow
 * reads, cutover, validation, rollback — for this migration, every item
 * checked against the real state.
 */
export function buildPlan(
  name: string,
  f: MigrationFacts,
  counts: { old: number; new: number },
  t: GateThresholds,
): Plan {
  const phase = f.state.phase;
  const gate = (g: Parameters<typeof checkGate>[0], item: string, from: Phase): PlanItem => {
    const c = checkGate(g, f, t);
    return { item, state: c.ok ? 'done' : at(from, phase) ? 'failed' : 'pending', figure: c.detail };
  };
  const inputs: PlanInputs = { f, counts, t, phase, gate };
  const phases = phaseItems(inputs);
  const rollbackWindow = checkGate('rollback-window', f, t);
  return {
    migration: name,
    phase,
    sections: [
      { title: 'Phases', items: phases },
      backfillSection(inputs),
      shadowSection(inputs),
      cutoverSection(inputs),
      validationSection(inputs),
      rollbackSection(inputs, rollbackWindow),
    ],
  };
}

const SYMBOL: Record<ItemState, string> = { done: '✓', failed: '✗', pending: 'pending' };

export function planMarkdown(p: Plan): string {
  const out = [`# Migration plan: ${p.migration}`, '', `Current phase: **${p.phase}**`, ''];
  for (const s of p.sections) {
    out.push(`## ${s.title}`, '');
    for (const i of s.items) out.push(`- ${SYMBOL[i.state]} ${i.item}${i.figure ? ` — ${i.figure}` : ''}`);
    out.push('');
  }
  return out.join('\n');
}

/** `midair plan`: reads only. */
export async function plan(ctx: CliContext): Promise<Plan> {
  const { facts } = await factsOf(ctx);
  const [oldCount, newCount] = await Promise.all([ctx.old.count(), ctx.new.count()]);
  return buildPlan(ctx.spec.name, facts, { old: oldCount, new: newCount }, ctx.thresholds);
}
