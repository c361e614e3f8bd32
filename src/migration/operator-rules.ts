import type { PhaseSetting, PhaseState } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { nextPhase, previousPhase, type Phase } from '../core/phases.js';
import type { GateCheck } from './gates.js';

/**
 * The operator's rules for each phase change, with no I/O: the library's
 * transitions and the CLI's checks before anything is written use the same.
 */

export function checkPercent(p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100)
    throw new MidairError('INVALID_ARGUMENT', 'a ramp percentage must be between 0 and 100');
  return p;
}

/** The phase `advance` moves to from `phase`; refused from complete. */
export function advanceTarget(name: string, phase: Phase): Phase {
  const to = nextPhase(phase);
  if (!to) throw new MidairError('INVALID_ARGUMENT', `migration ${name} is already complete`);
  return to;
}

export function advanceChange(name: string, s: PhaseState, rampPercent: number | undefined): Partial<PhaseSetting> {
  const phase = advanceTarget(name, s.phase);
  return { phase, rampPercent: phase === 'ramp' ? checkPercent(rampPercent ?? 10) : s.rampPercent };
}

/**
 * The command line's `--ramp` on an advance that does not enter ramp would be
 * ignored: refused instead, naming the phase that takes it. (The library's
 * `advance({ rampPercent })` applies it only when entering ramp, so a caller
 * may pass it on every step.)
 */
export function rampOnlyIntoRamp(name: string, to: Phase, rampPercent: number | undefined): void {
  if (rampPercent === undefined || to === 'ramp') return;
  throw new MidairError(
    'INVALID_ARGUMENT',
    `migration ${name}: the next phase is ${to}, not ramp, and only the advance into ramp takes --ramp (the share of keys read from new); nothing changed. Advance without --ramp; within ramp, \`midair phase set --ramp N\` changes the share`,
  );
}

/**
 * The reason an operator's change is audited with, trimmed: refused, with
 * nothing written, when it is missing or blank (a reason of spaces says
 * nothing in the audit log). `what` names the change for the message.
 */
export function requireReason(reason: string | undefined, what: string): string {
  const trimmed = reason?.trim() ?? '';
  if (trimmed === '')
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${what} needs a reason that says why (it goes to the audit log), and ${reason === undefined ? 'none was given' : 'the one given is blank'}; nothing changed`,
    );
  return trimmed;
}

function completeRefusal(name: string): MidairError {
  return new MidairError(
    'INVALID_ARGUMENT',
    `migration ${name} is complete: writes to old stopped and its tombstones may be purged, so there is no rollback from complete; nothing changed (start a new migration from new to old instead)`,
  );
}

/** The phase `rollback` moves to from `phase`; refused from complete and from old-only. */
export function rollbackTarget(name: string, phase: Phase): Phase {
  if (phase === 'complete') throw completeRefusal(name);
  const to = previousPhase(phase);
  if (!to)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${name} is in old-only: there is nothing to roll back; nothing changed`,
    );
  return to;
}

/** Whether a rollback from `phase` re-syncs old from new (before the switch from new-primary, right after it from old-read-only). */
export function rollbackResyncs(phase: Phase): boolean {
  return phase === 'new-primary' || phase === 'old-read-only';
}

/** Leaving old-read-only without the re-sync of old needs `force`. */
export function rollbackChange(name: string, s: PhaseState, force: boolean): Partial<PhaseSetting> {
  if (s.phase === 'complete') throw completeRefusal(name);
  if (s.phase === 'old-read-only' && !force) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${name}: old has received no writes since entering old-read-only; rolling back needs old re-synced from new (leave resync on, or force the rollback with a reason)`,
    );
  }
  return { phase: rollbackTarget(name, s.phase) };
}

/** The ramp percentage changes only within ramp. */
export function rampChange(name: string, s: PhaseState, percent: number): Partial<PhaseSetting> {
  if (s.phase !== 'ramp')
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${name} is in ${s.phase}, not ramp: advance to ramp first; nothing changed`,
    );
  return { rampPercent: checkPercent(percent) };
}

/** Throws BLOCKED when a gate into `to` fails and the change is not forced; resolves the reason for the audit log. */
export function passGates(
  name: string,
  to: Phase,
  checks: readonly GateCheck[],
  options: { readonly reason: string; readonly force?: boolean },
): string {
  const failing = checks.filter((g) => !g.ok);
  if (failing.length === 0) return options.reason;
  const list = failing.map((g) => `${g.gate}: ${g.detail}`);
  if (!options.force) {
    throw new MidairError(
      'BLOCKED',
      `migration ${name}: entering ${to} is blocked by ${failing.length} gate(s):\n  ${list.join('\n  ')}\n(force it with a reason if you must)`,
    );
  }
  return `${options.reason} [forced past: ${list.join('; ')}]`;
}
