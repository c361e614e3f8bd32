import type { PhaseState } from '../control/control-store.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { PhaseSummary, WebhookPayloads } from './webhook-types.js';

/** A phase state as a webhook tells it. */
export function phaseSummary(s: PhaseState): PhaseSummary {
  return { phase: s.phase, version: s.version, rampPercent: s.rampPercent, strict: s.strict };
}

/** A verification report as a webhook tells it: counts only (the differing keys stay in the report). */
export function verifiedPayload(r: VerifyReport): WebhookPayloads['verified'] {
  return {
    mode: r.mode,
    status: r.status,
    matched: r.matched,
    missing: r.missing.total,
    extra: r.extra.total,
    different: r.different.total,
    changedDuringRun: r.changedDuringRun.total,
    untracked: r.untracked,
    durationMs: r.durationMs,
    ...(r.repair ? { repair: { repaired: r.repair.repaired, stillDifferent: r.repair.stillDifferent.total } } : {}),
    ...(r.error ? { error: r.error } : {}),
  };
}
