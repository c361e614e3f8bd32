import type { AuditEntry, PhaseState } from '../../control/control-store.js';
import { MidairError } from '../../core/errors.js';
import type { CliContext } from '../context.js';

export interface AuditLine {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly from: string | null;
  readonly to: string;
  readonly version: number;
  readonly reason: string;
  readonly forced: boolean;
}

export interface AuditListing {
  readonly migration: string;
  readonly entries: readonly AuditLine[];
}

const setting = (s: { phase: string; rampPercent: number; strict?: boolean }): string =>
  `${s.phase}${s.phase === 'ramp' ? ` ${s.rampPercent} %` : ''}${s.strict ? ' (strict)' : ''}`;

/** An audit entry as the command line prints it (and as `status` lists the newest). */
export function auditLine(e: AuditEntry): AuditLine {
  return {
    seq: e.seq,
    at: e.at.toISOString(),
    actor: e.actor,
    action: e.action,
    from: e.from ? setting(e.from) : null,
    to: setting(e.to),
    version: e.version,
    reason: e.reason,
    forced: e.forced,
  };
}

/** `midair audit`: the audit log, newest first; reads only. */
export async function listAudit(
  ctx: CliContext,
  o: { readonly since?: Date; readonly limit: number },
): Promise<AuditListing> {
  if (!(await ctx.state())) return { migration: ctx.spec.name, entries: [] };
  const since = o.since;
  // The log is read newest first; with --since, read past the limit until entries are older than it.
  const read = await ctx.control.auditLog(ctx.spec.name, { limit: since ? Math.max(o.limit, 10_000) : o.limit });
  const entries = (since ? read.filter((e) => e.at >= since) : read).slice(0, o.limit);
  return { migration: ctx.spec.name, entries: entries.map(auditLine) };
}

export function formatAudit(a: AuditListing): string {
  if (a.entries.length === 0) return `${a.migration}: no audit entries`;
  return [
    `${a.migration}: ${a.entries.length} audit entr${a.entries.length === 1 ? 'y' : 'ies'}, newest first`,
    ...a.entries.map(
      (e) =>
        `  ${e.at}  v${e.version}  ${e.actor}  ${e.action}  ${e.from ?? '-'} → ${e.to}${e.forced ? '  FORCED' : ''}: ${e.reason}`,
    ),
  ].join('\n');
}

/** `midair strict on|off`: strict dual writes, audited; refused (nothing written) without a reason. */
export async function setStrict(
  ctx: CliContext,
  strict: boolean,
  o: { readonly reason?: string; readonly actor: string },
): Promise<PhaseState> {
  const reason = o.reason?.trim();
  if (!reason)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `strict ${strict ? 'on' : 'off'} needs --reason "<why>": the reason goes to the audit log`,
    );
  if (!(await ctx.state()))
    throw new MidairError(
      'INVALID_ARGUMENT',
      `migration ${ctx.spec.name} has not started: run \`midair phase advance\` first (strict mode applies from dual-write on)`,
    );
  await ctx.prepareWrites({ stores: false });
  return ctx.migration.setStrict(strict, { reason, actor: o.actor });
}

/** A strict-mode change as the command line prints it. */
export function formatStrict(migration: string, s: Pick<PhaseState, 'strict' | 'version'>): string {
  return `${migration}: strict dual writes ${s.strict ? 'on' : 'off'} (version ${s.version})`;
}
