import { z } from 'zod';
import type { CliContext } from '../cli/context.js';
import { formatStrict, setStrict } from '../cli/commands/audit.js';
import { advance, formatPhaseChange, rollback, setRamp, type Confirm } from '../cli/commands/phase.js';
import { controlBackfill, formatSteering } from '../cli/commands/work.js';
import { MidairError } from '../core/errors.js';
import { describeIssues } from '../config/load-config.js';
import type { AdvanceRequest, BackfillRequest, RampRequest, RollbackRequest, StrictRequest } from './api-types.js';

/** The controls, as the routes name them. */
export const CONTROLS = ['advance', 'rollback', 'ramp', 'strict', 'backfill'] as const;
export type ControlName = (typeof CONTROLS)[number];

const reason = z.string().max(2000).optional();
const schemas = {
  advance: z
    .object({ reason, force: z.boolean().optional(), yes: z.boolean().optional(), ramp: z.number().optional() })
    .strict(),
  rollback: z.object({ reason, force: z.boolean().optional() }).strict(),
  ramp: z.object({ percent: z.number(), reason }).strict(),
  strict: z.object({ on: z.boolean(), reason: z.string().max(2000) }).strict(),
  backfill: z
    .object({ action: z.enum(['pause', 'resume', 'rate']), rowsPerSecond: z.number().int().positive().optional() })
    .strict(),
} satisfies Record<ControlName, z.ZodType>;

/** The body, checked: a clear refusal naming the field, with nothing run. */
function parse<T>(control: ControlName, body: unknown): T {
  const parsed = schemas[control].safeParse(body);
  if (!parsed.success)
    throw new MidairError('INVALID_ARGUMENT', `${control}: ${describeIssues(parsed.error.issues).join('; ')}`);
  return parsed.data as T;
}

/** A refusal that asks the page to confirm: the question, kept for the answer. */
export class ConfirmationNeeded extends MidairError {
  constructor(readonly question: string) {
    super('INVALID_ARGUMENT', `${question} Not confirmed, so nothing changed: confirm it in the dashboard.`);
  }
}

/** The page confirms before it sends: `yes` is that confirmation, and the terminal is never read. */
const pageConfirm: Confirm = async (question, yes) => {
  if (!yes) throw new ConfirmationNeeded(question);
  return Promise.resolve();
};

/**
 * Runs one control through the command line's own function — the same
 * checks, reasons, confirmations, gates and audit entries as `midair phase`,
 * `strict` and `backfill` — and says what it did as the command prints it.
 */
export async function runControl(
  ctx: CliContext,
  control: ControlName,
  body: unknown,
  actor: string,
): Promise<{ message: string; result: unknown }> {
  const name = ctx.spec.name;
  switch (control) {
    case 'advance': {
      const b = parse<AdvanceRequest>(control, body);
      const r = await advance(ctx, { ...b, actor, confirm: pageConfirm });
      return { message: formatPhaseChange(name, r), result: r };
    }
    case 'rollback': {
      const b = parse<RollbackRequest>(control, body);
      const r = await rollback(ctx, { ...b, actor });
      return { message: formatPhaseChange(name, r), result: r };
    }
    case 'ramp': {
      const b = parse<RampRequest>(control, body);
      const r = await setRamp(ctx, { ramp: b.percent, ...(b.reason === undefined ? {} : { reason: b.reason }), actor });
      return { message: formatPhaseChange(name, r), result: r };
    }
    case 'strict': {
      const b = parse<StrictRequest>(control, body);
      const r = await setStrict(ctx, b.on, { reason: b.reason, actor });
      return { message: formatStrict(name, r), result: r };
    }
    case 'backfill': {
      const b = parse<BackfillRequest>(control, body);
      if (b.action === 'rate' && b.rowsPerSecond === undefined)
        throw new MidairError('INVALID_ARGUMENT', 'backfill rate: rowsPerSecond is needed (a positive whole number)');
      const change = b.action === 'rate' ? { maxRowsPerSecond: b.rowsPerSecond } : { paused: b.action === 'pause' };
      const r = await controlBackfill(ctx, change);
      return { message: formatSteering(name, change, r), result: r };
    }
  }
}
