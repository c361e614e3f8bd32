import { createInterface } from 'node:readline/promises';
import type { PhaseState } from '../../control/control-store.js';
import type { Phase } from '../../core/phases.js';
import { MidairError } from '../../core/errors.js';
import { INITIAL_SETTING } from '../../control/memory-control-store.js';
import {
  advanceTarget,
  rampChange,
  rampOnlyIntoRamp,
  requireReason,
  rollbackResyncs,
  rollbackTarget,
} from '../../migration/operator-rules.js';
import { formatVerifyReport } from '../../verify/report.js';
import type { VerifyReport } from '../../verify/verify-options.js';
import type { CliContext } from '../context.js';

export interface PhaseOptions {
  readonly reason?: string;
  readonly force?: boolean;
  readonly yes?: boolean;
  readonly ramp?: number;
  readonly actor?: string;
  /**
   * How a step that cannot be undone is confirmed: on a terminal, or with
   * `yes` (the default); the dashboard passes its own, which never reads the
   * terminal and refuses unless the page confirmed.
   */
  readonly confirm?: Confirm;
}

/** Confirms `question` (resolves) or refuses with nothing written (throws); `yes` is the caller's prior confirmation. */
export type Confirm = (question: string, yes: boolean | undefined) => Promise<void>;

export interface PhaseChange {
  readonly from: { readonly phase: string; readonly version: number };
  readonly to: { readonly phase: string; readonly version: number; readonly rampPercent: number };
  readonly forced: boolean;
  /** After new-primary: the verification that re-synced old from new before switching back. */
  readonly resync?: VerifyReport;
}

/** The audit reason: `--reason` when given (refused blank), else `fallback`; `--force` needs one. */
function reasonOf(options: PhaseOptions, fallback: string, command: string): string {
  if (options.force && options.reason === undefined)
    throw new MidairError('INVALID_ARGUMENT', '--force needs --reason "<why>": the reason goes to the audit log');
  return options.reason === undefined ? fallback : requireReason(options.reason, `${command} --reason`);
}

/** Asks on a terminal; without one, only `--yes` may confirm. */
async function confirmOnTerminal(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new MidairError('INVALID_ARGUMENT', `${question} Not on a terminal, so pass --yes to confirm.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${question} Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== 'yes')
      throw new MidairError('INVALID_ARGUMENT', 'not confirmed; nothing changed');
  } finally {
    rl.close();
  }
}

const change = (from: PhaseState, to: PhaseState, forced: boolean, resync?: VerifyReport): PhaseChange => ({
  from: { phase: from.phase, version: from.version },
  to: { phase: to.phase, version: to.version, rampPercent: to.rampPercent },
  forced,
  ...(resync ? { resync } : {}),
});

/** A phase change as the command line prints it (and the dashboard answers it). */
export function formatPhaseChange(migration: string, r: PhaseChange): string {
  const ramp = r.to.phase === 'ramp' ? ` ${r.to.rampPercent} %` : '';
  const forced = r.forced ? ' — forced, recorded in the audit log' : '';
  const resync = r.resync ? `\n${formatVerifyReport(r.resync)}` : '';
  return `${migration}: ${r.from.phase} → ${r.to.phase}${ramp} (version ${r.to.version})${forced}${resync}`;
}

/** The current state, or the state a migration starts in (version 0: nothing recorded yet). Reads only. */
export async function current(ctx: CliContext): Promise<PhaseState> {
  return (await ctx.state()) ?? { migration: ctx.spec.name, ...INITIAL_SETTING, version: 0, changedAt: new Date() };
}

/** What entering `to` asks the operator to confirm, or `undefined` when it asks nothing. */
export function advanceConfirmation(to: Phase): string | undefined {
  if (to === 'new-primary')
    return 'Entering new-primary makes new authoritative: this is the point of no return without a re-sync of old.';
  if (to === 'complete') return 'Entering complete stops every write to old: after it there is no rollback.';
  return undefined;
}

/** `midair phase advance`: the next phase, through its gates. Everything is checked before the first write. */
export async function advance(ctx: CliContext, o: PhaseOptions): Promise<PhaseChange> {
  const from = await current(ctx);
  const to = advanceTarget(ctx.spec.name, from.phase);
  rampOnlyIntoRamp(ctx.spec.name, to, o.ramp);
  const reason = reasonOf(o, `midair phase advance to ${to}`, 'phase advance');
  const question = advanceConfirmation(to);
  if (question) await (o.confirm ?? confirmOnTerminal)(question, o.yes);
  // A blocked gate writes nothing either: the gates are read before anything is prepared (with nothing recorded yet,
  // version 0, there are no facts to read; the library checks the gates once the state exists).
  if (from.version > 0 && !o.force) await ctx.migration.passGates(to, { reason, thresholds: ctx.thresholds });
  await ctx.prepareWrites();
  const state = await ctx.migration.advance({
    reason,
    force: o.force ?? false,
    gated: ctx.thresholds,
    actor: o.actor,
    ...(o.ramp === undefined ? {} : { rampPercent: o.ramp }),
  });
  return change(from, state, o.force ?? false);
}

/** `midair phase set --ramp N`: the share of keys read from new (refused, with nothing written, outside ramp). */
export async function setRamp(ctx: CliContext, o: PhaseOptions): Promise<PhaseChange> {
  if (o.ramp === undefined)
    throw new MidairError('INVALID_ARGUMENT', 'phase set needs --ramp <percent>, e.g. --ramp 50');
  const from = await current(ctx);
  rampChange(ctx.spec.name, from, o.ramp); // refused outside ramp (or for a bad percentage) before anything is written
  const reason = reasonOf(o, `midair phase set --ramp ${o.ramp}`, 'phase set');
  await ctx.prepareWrites();
  const state = await ctx.migration.setRamp(o.ramp, { reason, actor: o.actor });
  return change(from, state, false);
}

/**
 * `midair phase rollback`: one phase back. From new-primary, old is first
 * re-synced from new — a full verification that repairs what differs (what
 * only new has) — then the switch drains the repair queue under the cutover
 * freeze, so nothing written to new is lost. From old-read-only, where old
 * got no writes, the switch comes first (new-primary writes both stores) and
 * the re-sync right after. Refused, with nothing written, in old-only and in
 * complete.
 */
export async function rollback(ctx: CliContext, o: PhaseOptions, onResync?: () => void): Promise<PhaseChange> {
  const from = await current(ctx);
  const to = rollbackTarget(ctx.spec.name, from.phase);
  const reason = reasonOf(o, `midair phase rollback to ${to}`, 'phase rollback');
  await ctx.prepareWrites();
  // The library re-syncs old from new where it must (leaving new-primary: before the switch; leaving old-read-only: right after).
  if (rollbackResyncs(from.phase)) onResync?.();
  const state = await ctx.migration.rollback({
    reason,
    force: o.force ?? false,
    actor: o.actor,
    resync: { ...(ctx.spec.verify ?? {}) },
  });
  return change(from, state, o.force ?? false, state.resync);
}
