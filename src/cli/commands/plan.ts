import { capacityThresholds, checkGate, type GateThresholds, type MigrationFacts } from '../../migration/gates.js';
import { grouped, percent } from '../../core/format.js';
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

/**
 * A gate's item: done when it holds; failed only once it is due — from
 * `dueFrom` on, the phase whose entry needed it and after which it must still
 * hold — and pending before (work toward a later phase). Without `dueFrom` it
 * gates the next advance only (the fleet's acknowledgements, the repair
 * queue): pending until it holds.
 */
type GateItem = (g: Parameters<typeof checkGate>[0], item: string, dueFrom?: Phase) => PlanItem;

/** What every section of the plan is built from. */
interface PlanInputs {
  readonly f: MigrationFacts;
  readonly counts: { old: number; new: number };
  readonly t: GateThresholds;
  readonly phase: Phase;
  readonly gate: GateItem;
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
        state: deadLetterState(f, phase),
        figure: `${f.deadLetters} dead letter(s)`,
      },
    ],
  };
}

/** Dead letters must be gone (retried or accepted) to enter shadow-read: pending before, failed from then on. */
function deadLetterState(f: MigrationFacts, phase: Phase): ItemState {
  if (f.deadLetters > 0) return at('shadow-read', phase) ? 'failed' : 'pending';
  return f.backfill.started ? 'done' : 'pending';
}

/**
 * A gate counted per phase version and needed to enter ramp and new-primary
 * (shadow, capacity): from new-primary on it gated a step already taken.
 */
function untilNewPrimary(
  { phase, gate }: Pick<PlanInputs, 'phase' | 'gate'>,
  name: 'shadow' | 'capacity',
  item: string,
): PlanItem {
  return at('new-primary', phase)
    ? { item, state: 'done', figure: 'checked on the way into new-primary; not needed after it' }
    : gate(name, item);
}

function shadowSection({ t, phase, gate }: PlanInputs): PlanSection {
  const item = `mismatch rate within ${((t.maxMismatchRate ?? 0.001) * 100).toFixed(2)} % over at least ${t.minComparisons ?? 1000} comparisons`;
  const shadow = untilNewPrimary({ phase, gate }, 'shadow', item);
  return {
    title: 'Shadow reads',
    items: [
      {
        item: 'shadow reads compare old and new off the hot path',
        state: at('shadow-read', phase) ? 'done' : 'pending',
      },
      shadow,
    ],
  };
}

/** New's latency and errors under the application's own calls, before it serves reads (ramp) and writes (new-primary). */
function capacitySection({ t, phase, gate }: PlanInputs): PlanSection {
  const { factor, maxErrorRate, minCalls } = capacityThresholds(t);
  const item = `new's p99 within ${factor}× old's and at most ${percent(maxErrorRate, 2)} of its calls failing, over at least ${grouped(minCalls)} calls on each store in the phase`;
  const capacity = untilNewPrimary({ phase, gate }, 'capacity', item);
  return {
    title: 'Capacity',
    items: [
      {
        item: "new takes the application's traffic alongside old: second writes from dual-write, shadow reads from shadow-read",
        state: at('dual-write', phase) ? 'done' : 'pending',
      },
      capacity,
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
      gate('fleet', 'every live instance on the current phase'),
      gate('repairs', 'repair queue drained'),
      {
        item: 'new becomes authoritative (writes freeze briefly and the repair queue drains)',
        state: at('new-primary', phase) ? 'done' : 'pending',
      },
    ],
  };
}

function validationSection({ f, counts, phase, gate }: PlanInputs): PlanSection {
  return {
    title: 'Validation',
    items: [countsItem(counts, phase), verificationItem(f, phase, gate)],
  };
}

/**
 * Row counts are a hint, never a gate: they differ until the backfill ends,
 * for a moment under live writes, and for good once old stops taking writes
 * (old-read-only). The full verification is the check.
 */
function countsItem(counts: { old: number; new: number }, phase: Phase): PlanItem {
  const figure = `old ${counts.old}, new ${counts.new}`;
  if (at('old-read-only', phase))
    return { item: 'row counts: old takes no writes from old-read-only on, so they may differ', state: 'done', figure };
  return {
    item: 'row counts match (a hint: `midair verify` is the check)',
    state: counts.old === counts.new ? 'done' : 'pending',
    figure,
  };
}

/**
 * Due from ramp (its entry needs it); in new-primary and old-read-only a clean
 * verification from before new-primary is pending, not failed: the one
 * complete needs runs once new is authoritative.
 */
function verificationItem(f: MigrationFacts, phase: Phase, gate: GateItem): PlanItem {
  const item = 'full verification clean (hashes in each database, differing keys named)';
  const v = f.lastVerification;
  const cleanBefore =
    v?.mode === 'full' &&
    v.status === 'equal' &&
    (phase === 'new-primary' || phase === 'old-read-only') &&
    PHASES.indexOf(v.phase) < PHASES.indexOf('new-primary');
  return cleanBefore ? { ...gate('verification', item), state: 'pending' } : gate('verification', item, 'ramp');
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
        state: 'done',
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
  const gate: GateItem = (g, item, dueFrom) => {
    const c = checkGate(g, f, t);
    const state = c.ok ? 'done' : dueFrom !== undefined && at(dueFrom, phase) ? 'failed' : 'pending';
    return { item, state, figure: c.detail };
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
      capacitySection(inputs),
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
