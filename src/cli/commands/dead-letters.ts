import type { DeadLetter } from '../../control/control-store.js';
import { refusalInPhase } from '../../backfill/guards.js';
import { MidairError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { checkKeys } from './work.js';

export interface DeadLetterList {
  readonly total: number;
  /** Oldest first: key, reason (`CODE` or `CODE:field`, never a value), attempts, when. */
  readonly letters: readonly {
    readonly keyId: string;
    readonly reason: string;
    readonly attempts: number;
    readonly at: string;
  }[];
}

/** `midair dead-letters list`: reads only. */
export async function listDeadLetters(ctx: CliContext, limit: number): Promise<DeadLetterList> {
  if (!(await ctx.state())) return { total: 0, letters: [] };
  const letters: DeadLetter[] = await ctx.control.deadLetters(ctx.spec.name, limit);
  return {
    total: await ctx.control.deadLetterCount(ctx.spec.name),
    letters: letters.map((d) => ({ keyId: d.keyId, reason: d.reason, attempts: d.attempts, at: d.at.toISOString() })),
  };
}

export function formatDeadLetters(l: DeadLetterList): string {
  if (l.total === 0) return 'no dead letters';
  const lines = [`${l.total} dead letter(s)${l.letters.length < l.total ? `, the oldest ${l.letters.length}` : ''}:`];
  for (const d of l.letters) lines.push(`  ${d.keyId}  ${d.reason}  ${d.attempts} attempt(s), last ${d.at}`);
  lines.push(
    'retry them after a fix: `midair dead-letters retry`; accept them as rows new will not get: `midair dead-letters accept --force --reason "<why>"`',
  );
  return lines.join('\n');
}

/** `midair dead-letters retry`: copies the dead letters' keys again (copies only, never deletes); refused, with nothing written, where no copy may run. */
export async function retryDeadLetters(
  ctx: CliContext,
): Promise<{ retried: number; copied: number; stillFailing: number }> {
  const state = await ctx.state();
  const why = refusalInPhase(ctx.spec.name, state?.phase ?? 'old-only', 'sweep');
  if (why) throw new MidairError('INVALID_ARGUMENT', why.replace('a sweep', 'a dead-letter retry'));
  await checkKeys(ctx);
  await ctx.prepareWrites();
  return ctx.migration.retryDeadLetters({ keyMappings: ctx.keyMappings });
}

/** `midair dead-letters accept --force --reason R [keys…]`: recorded in the audit log as `dead-letter-accept`; needs both flags, else nothing is written. */
export async function acceptDeadLetters(
  ctx: CliContext,
  o: { readonly force?: boolean; readonly reason?: string; readonly keys?: readonly string[] },
): Promise<{ accepted: number }> {
  if (!o.force || !o.reason?.trim())
    throw new MidairError(
      'INVALID_ARGUMENT',
      `accepting dead letters drops rows new will never get: pass --force --reason "<why>" (the reason goes to the audit log)${o.reason !== undefined && !o.reason.trim() ? '; the reason given is blank' : ''}; nothing changed`,
    );
  if (!(await ctx.state())) return { accepted: 0 };
  await ctx.prepareWrites({ stores: false });
  const keyIds = o.keys && o.keys.length > 0 ? o.keys : undefined;
  return {
    accepted: await ctx.migration.acceptDeadLetters({ reason: o.reason, force: true, ...(keyIds ? { keyIds } : {}) }),
  };
}
