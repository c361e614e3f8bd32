import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../errors.js';
import type { MigrationFacts, VerificationSummary } from './gates.js';

/** Control-store checkpoints the gates read. */
export const FACT_NAMES = Object.freeze({
  backfill: 'backfill',
  lastVerification: 'verify:last',
  shadow: (instanceId: string) => `shadow:${instanceId}`,
});

/** One instance's shadow comparisons in one phase version (saved by the instance, summed by the gates). */
export interface ShadowCounters {
  readonly phaseVersion: number;
  readonly comparisons: number;
  readonly mismatches: number;
}

function parse<T>(raw: string | undefined): T | undefined {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}

/** Reads everything the gates, `status` and `plan` look at. */
export async function readFacts(control: ControlStore, migration: string, instanceExpiryMs: number, now = new Date()): Promise<MigrationFacts> {
  const state = await control.getState(migration);
  if (!state) throw new MidairError('INVALID_ARGUMENT', `migration ${migration} has no state in the control store yet: run \`midair status\` after an instance started, or advance it once`);
  const fleet = await control.instances(migration, new Date(now.getTime() - instanceExpiryMs));
  const backfill = parse<{ complete?: boolean }>(await control.loadCheckpoint(migration, FACT_NAMES.backfill));
  const lastVerification = parse<VerificationSummary>(await control.loadCheckpoint(migration, FACT_NAMES.lastVerification));
  let comparisons = 0;
  let mismatches = 0;
  for (const i of fleet) {
    const s = parse<ShadowCounters>(await control.loadCheckpoint(migration, FACT_NAMES.shadow(i.instanceId)));
    if (s?.phaseVersion === state.version) {
      comparisons += s.comparisons;
      mismatches += s.mismatches;
    }
  }
  const audit = await control.auditLog(migration, { limit: 500 });
  const entered = audit.find((e) => e.to.phase === 'new-primary' && e.from?.phase !== 'new-primary');
  return {
    state,
    fleet,
    backfill: { complete: backfill?.complete === true, started: backfill !== undefined },
    lastVerification,
    shadow: { comparisons, mismatches },
    repairDepth: await control.repairDepth(migration),
    deadLetters: await control.deadLetterCount(migration),
    enteredNewPrimaryAt: entered?.at,
    now,
  };
}
