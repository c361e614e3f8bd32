import { hostname, userInfo } from 'node:os';
import { REPAIR_DIRECTIONS, type RepairDirection } from '../../control/control-store.js';
import { MidairError } from '../../core/errors.js';
import { requireReason } from '../../migration/operator-rules.js';
import type { CliContext } from '../context.js';
import { color } from '../output.js';

/** One repair as `midair repairs list` shows it: pending (queued, retried by the repairers) or parked (waiting for the operator). */
export interface RepairRow {
  readonly state: 'pending' | 'parked';
  readonly direction: RepairDirection;
  readonly keyId: string;
  readonly reason: string;
  readonly attempts: number;
  /** The store the repair copies into (parked: the store the copy failed on). */
  readonly store: string;
  /** Parked: the error code and the constraint the data breaks, when the error named one. */
  readonly code: string | null;
  readonly constraint: string | null;
  /** Parked: the error's message (identifiers only, never values). */
  readonly message: string | null;
  /** Pending: when it was first queued, and how long until it is due (0: due now). Parked: when it was parked. */
  readonly since: string;
  readonly dueInMs: number | null;
}

export interface RepairsList {
  readonly migration: string;
  readonly pending: number;
  readonly parked: number;
  /** At most `limit` of each state, oldest first. */
  readonly repairs: readonly RepairRow[];
}

export interface OperatorOptions {
  /** Who, for the audit log; default `<user>@<host>`. */
  readonly actor?: string;
}

/** Who runs the command, as the audit log names them. */
export function cliActor(actor?: string): string {
  if (actor) return actor;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no user database entry (a container): keep "unknown"
  }
  return `${user}@${hostname()}`;
}

/** A short list of keys for an audit reason or a message: the operator's own input, at most `max` of it. */
export function keyList(keyIds: readonly string[], max = 10): string {
  return keyIds.length <= max
    ? keyIds.join(', ')
    : `${keyIds.slice(0, max).join(', ')} and ${keyIds.length - max} more`;
}

/** `midair repairs list`: pending and parked repairs, with counts. */
export async function listRepairs(ctx: CliContext, limit = 100): Promise<RepairsList> {
  const m = ctx.spec.name;
  const into = (d: RepairDirection): string => (d === 'old-to-new' ? ctx.new.name : ctx.old.name);
  const rows: RepairRow[] = [];
  for (const direction of REPAIR_DIRECTIONS) {
    for (const e of await ctx.control.peekRepairs(m, direction, limit)) {
      rows.push({
        state: 'pending',
        direction,
        keyId: e.keyId,
        reason: e.reason,
        attempts: e.attempts,
        store: into(direction),
        code: null,
        constraint: null,
        message: null,
        since: e.enqueuedAt.toISOString(),
        dueInMs: e.delayMs ?? 0,
      });
    }
  }
  for (const p of await ctx.control.parkedRepairs(m, { limit })) {
    rows.push({
      state: 'parked',
      direction: p.direction,
      keyId: p.keyId,
      reason: p.reason,
      attempts: p.attempts,
      store: p.problem.store,
      code: p.problem.code,
      constraint: p.problem.constraint ?? null,
      message: p.problem.message,
      since: p.parkedAt.toISOString(),
      dueInMs: null,
    });
  }
  return {
    migration: m,
    pending: await ctx.control.repairDepth(m),
    parked: await ctx.control.parkedCount(m),
    repairs: rows,
  };
}

export function formatRepairs(r: RepairsList): string {
  const lines = [`${color.bold(r.migration)}  ${r.pending} pending repair(s), ${r.parked} parked`];
  const shown = r.repairs.length;
  if (shown === 0) return lines.join('\n');
  lines.push(`  ${['STATE', 'KEY', 'DIRECTION', 'REASON', 'ATTEMPTS', 'STORE', 'CONSTRAINT'].join('  ')}`);
  for (const x of r.repairs) {
    const state =
      x.state === 'parked'
        ? color.yellow('parked ')
        : x.dueInMs
          ? `due in ${Math.ceil(x.dueInMs / 1000)} s`
          : 'pending';
    lines.push(
      `  ${[state, x.keyId, x.direction, x.state === 'parked' ? `${x.reason} → ${x.code ?? ''}` : x.reason, String(x.attempts), x.store, x.constraint ?? '-'].join('  ')}`,
    );
    if (x.message) lines.push(`      ${color.dim(x.message)}`);
  }
  if (shown < r.pending + r.parked) lines.push(color.dim(`  (${shown} of ${r.pending + r.parked} shown)`));
  if (r.parked > 0)
    lines.push(
      `  retry with \`midair repairs retry <key>… | --all\`; accept with \`midair repairs resolve <key>… --reason "…"\``,
    );
  return lines.join('\n');
}

export interface RepairsChange {
  readonly migration: string;
  readonly action: 'repair-retry' | 'repair-resolve';
  /** How many parked entries it moved (a key parked in both directions counts twice). */
  readonly count: number;
  readonly keyIds: readonly string[];
}

/** The parked keys among `keyIds`; refuses, before any write, when one of them is not parked. */
async function parkedKeys(ctx: CliContext, keyIds: readonly string[], command: string): Promise<string[]> {
  const wanted = [...new Set(keyIds)];
  const parked = new Set((await ctx.control.parkedRepairs(ctx.spec.name)).map((p) => p.keyId));
  const unknown = wanted.filter((k) => !parked.has(k));
  if (unknown.length > 0) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${command}: ${unknown.length} of the keys given ${unknown.length === 1 ? 'is' : 'are'} not parked (${keyList(unknown)}); nothing changed. \`midair repairs list\` shows the parked ones.`,
    );
  }
  return wanted;
}

/** `midair repairs retry [keys…|--all]`: parked repairs back in the queue, due at once; audited `repair-retry`. */
export async function retryRepairs(
  ctx: CliContext,
  keyIds: readonly string[],
  o: OperatorOptions & { readonly all?: boolean; readonly reason?: string },
): Promise<RepairsChange> {
  if (o.all === true && keyIds.length > 0)
    throw new MidairError('INVALID_ARGUMENT', 'repairs retry: give key ids or --all, not both; nothing changed');
  if (o.all !== true && keyIds.length === 0)
    throw new MidairError('INVALID_ARGUMENT', 'repairs retry: give the key ids to retry, or --all; nothing changed');
  const why = o.reason === undefined ? 'midair repairs retry' : requireReason(o.reason, 'repairs retry --reason');
  const m = ctx.spec.name;
  const keys =
    o.all === true
      ? [...new Set((await ctx.control.parkedRepairs(m)).map((p) => p.keyId))]
      : await parkedKeys(ctx, keyIds, 'repairs retry');
  if (keys.length === 0) return { migration: m, action: 'repair-retry', count: 0, keyIds: [] };
  const count = await ctx.control.retryParked(m, keys);
  await ctx.control.appendAudit(m, {
    actor: cliActor(o.actor),
    action: 'repair-retry',
    reason: `${why} [retried ${keyList(keys)}]`,
    forced: false,
  });
  return { migration: m, action: 'repair-retry', count, keyIds: keys };
}

/** `midair repairs resolve <keys…> --reason "…"`: the operator accepts parked repairs as they are; audited `repair-resolve`. */
export async function resolveRepairs(
  ctx: CliContext,
  keyIds: readonly string[],
  o: OperatorOptions & { readonly reason?: string },
): Promise<RepairsChange> {
  if (keyIds.length === 0)
    throw new MidairError('INVALID_ARGUMENT', 'repairs resolve: give the key ids to resolve; nothing changed');
  const reason = o.reason?.trim() ?? '';
  if (reason === '')
    throw new MidairError(
      'INVALID_ARGUMENT',
      'repairs resolve needs --reason "<why>": the reason goes to the audit log; nothing changed',
    );
  const keys = await parkedKeys(ctx, keyIds, 'repairs resolve');
  const m = ctx.spec.name;
  const count = await ctx.control.resolveParked(m, keys);
  await ctx.control.appendAudit(m, {
    actor: cliActor(o.actor),
    action: 'repair-resolve',
    reason: `${reason} [resolved ${keyList(keys)}]`,
    forced: false,
  });
  return { migration: m, action: 'repair-resolve', count, keyIds: keys };
}

export function formatRepairsChange(r: RepairsChange): string {
  if (r.count === 0) return `${r.migration}: no parked repairs to retry`;
  const verb = r.action === 'repair-retry' ? 'retried' : 'resolved';
  return `${r.migration}: ${verb} ${r.count} parked repair(s) (${keyList(r.keyIds)}), recorded in the audit log${r.action === 'repair-retry' ? '; the repairers take them again' : ''}`;
}
