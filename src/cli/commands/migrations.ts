import { MidairError } from '../../core/errors.js';
import type { Phase } from '../../core/phases.js';
import type { CliContext } from '../context.js';
import { color } from '../output.js';

/** One migration the control store holds, as `midair migrations list` shows it. */
export interface MigrationRow {
  readonly migration: string;
  readonly phase: Phase;
  readonly version: number;
  readonly changedAt: string;
  /** Instances with a heartbeat on record (a clean stop removes its own; a dead one stays until evicted). */
  readonly instances: number;
  /** Whether the config declares it: one that it does not is left over (a rename, a finished migration). */
  readonly inConfig: boolean;
}

/** Phases a migration may be removed in: nothing has moved yet, or everything has. */
export const REMOVABLE_PHASES: readonly Phase[] = ['old-only', 'complete'];

/** `midair migrations list`: every migration in the control store, the config's and any other. */
export async function listMigrations(ctx: CliContext): Promise<MigrationRow[]> {
  const states = await ctx.control.migrations();
  return Promise.all(
    states.map(async (s) => ({
      migration: s.migration,
      phase: s.phase,
      version: s.version,
      changedAt: s.changedAt.toISOString(),
      instances: (await ctx.control.instances(s.migration, new Date(0))).length,
      inConfig: ctx.config.migrations.has(s.migration),
    })),
  );
}

export function formatMigrations(rows: readonly MigrationRow[]): string {
  if (rows.length === 0) return 'the control store holds no migration yet';
  return rows
    .map(
      (r) =>
        `${color.bold(r.migration)}  ${r.phase} (version ${r.version}, changed ${r.changedAt}), ${r.instances} instance(s) on record${r.inConfig ? '' : color.yellow(', not in the config')}`,
    )
    .join('\n');
}

export interface Removal {
  readonly migration: string;
  readonly phase: Phase;
  readonly version: number;
}

/**
 * `midair migrations remove <name>`: deletes the migration's state, audit
 * log, instances, repairs, checkpoints, dead letters and leases from the
 * control store — never anything in the data stores. Refused (nothing
 * removed) without a reason and `--yes`, while any instance has a heartbeat
 * on record (however old: a paused instance may wake), and in
 * any phase but old-only (nothing moved yet) and complete (everything has).
 */
export async function removeMigration(
  ctx: CliContext,
  migration: string,
  o: { readonly reason?: string; readonly yes?: boolean },
): Promise<Removal> {
  const refuse = (why: string): MidairError =>
    new MidairError('INVALID_ARGUMENT', `migrations remove ${migration}: ${why}; nothing was removed`);
  if ((o.reason?.trim() ?? '') === '') throw refuse('give --reason "<why>" (it is printed with the removal)');
  const state = await ctx.control.getState(migration);
  if (!state) throw refuse('the control store holds no such migration (`midair migrations list` shows what it holds)');
  if (!REMOVABLE_PHASES.includes(state.phase))
    throw refuse(
      `it is in ${state.phase}, where both stores may hold writes the other lacks and its repair queue and audit log still matter; finish it (complete) or roll it back to old-only first`,
    );
  const instances = await ctx.control.instances(migration, new Date(0));
  if (instances.length > 0)
    throw refuse(
      `${instances.length} instance(s) have a heartbeat on record (${instances.map((i) => i.instanceId).join(', ')}); stop them, or evict the ones that are gone (\`midair fleet evict\` with --migration ${migration})`,
    );
  if (!o.yes) throw refuse('this deletes its audit log too: pass --yes to confirm');
  await ctx.control.removeMigration(migration);
  return { migration, phase: state.phase, version: state.version };
}

export function formatRemoval(r: Removal): string {
  return `removed ${r.migration} (${r.phase}, version ${r.version}) from the control store: its state, audit log, instances, repairs, checkpoints, dead letters and leases; the data stores are untouched`;
}
