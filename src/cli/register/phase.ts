import { moment, percent, positiveInt, type Cli } from '../cli-kit.js';
import {
  advance,
  formatPhaseChange,
  rollback,
  setRamp,
  type PhaseChange,
  type PhaseOptions,
} from '../commands/phase.js';
import { formatAudit, formatStrict, listAudit, setStrict } from '../commands/audit.js';
import type { CliContext } from '../context.js';
import { EXIT, type Output } from '../output.js';

/** Moving the migration (phase, strict mode) and reading what moved it (the audit log). */
export function registerPhase(cli: Cli): void {
  registerPhaseChanges(cli);
  registerStrict(cli);
  registerAudit(cli);
}

function registerPhaseChanges(cli: Cli): void {
  const phase = cli.program
    .command('phase')
    .description('move the migration: advance, set the ramp, roll back (every change is audited)');
  // A phase change waits for every live instance to acknowledge the phase: each one it waits for is said at once.
  const phaseAction =
    (label: string, run: (ctx: CliContext, o: PhaseOptions, log: Output) => Promise<PhaseChange>) =>
    async (opts: PhaseOptions) =>
      cli.withContext(async (ctx, o) => {
        const report = cli.report(label);
        const off = ctx.onWaiting((n) => report.notice(n));
        const r = await run(ctx, { ...opts, actor: cli.actor() }, o).finally(() => {
          off();
          report.stop();
        });
        o.result(r, () => formatPhaseChange(ctx.spec.name, r));
        return r.resync && r.resync.status !== 'equal' ? EXIT.notClean : EXIT.ok;
      }, true);
  phase
    .command('advance')
    .description('to the next phase, if its gates pass (entering new-primary asks for confirmation)')
    .option('--reason <text>', 'why (goes to the audit log; required with --force)')
    .option('--force', 'pass failing gates (needs --reason)')
    .option('--yes', 'confirm entering new-primary or complete without asking')
    .option(
      '--ramp <percent>',
      'the share of keys read from new when entering ramp (default 10); refused when the next phase is not ramp',
      percent,
    )
    .action(phaseAction('phase advance', (ctx, o) => advance(ctx, o)));
  phase
    .command('set')
    .description('change the ramp percentage (within ramp)')
    .requiredOption('--ramp <percent>', 'the share of keys read from new', percent)
    .option('--reason <text>', 'why (goes to the audit log)')
    .action(phaseAction('phase set', (ctx, o) => setRamp(ctx, o)));
  phase
    .command('rollback')
    .description('one phase back; from new-primary, old is re-synced from new first')
    .option('--reason <text>', 'why (goes to the audit log; required with --force)')
    .option('--force', 'roll back even where a re-sync could not make old whole, or from old-read-only')
    .action(
      phaseAction('phase rollback', (ctx, o, log) =>
        rollback(ctx, o, () => log.line('re-syncing old from new before switching back…')),
      ),
    );
}

function registerStrict(cli: Cli): void {
  const strict = cli.program
    .command('strict')
    .description('strict dual writes: a write lands in both stores or fails (off: the second write is repaired)');
  for (const [name, on] of [
    ['on', true],
    ['off', false],
  ] as const) {
    strict
      .command(name)
      .description(on ? 'switch strict dual writes on (audited)' : 'switch back to best-effort second writes (audited)')
      .option('--reason <text>', 'why (required; goes to the audit log)')
      .action(async (opts: { reason?: string }) =>
        cli.withContext(async (ctx, o) => {
          const r = await setStrict(ctx, on, { ...opts, actor: cli.actor() });
          o.result(r, () => formatStrict(ctx.spec.name, r));
          return EXIT.ok;
        }, true),
      );
  }
}

function registerAudit(cli: Cli): void {
  cli.program
    .command('audit')
    .description('the audit log: who changed what, when and why, newest first; writes nothing')
    .option('--since <when>', 'only entries since then: an ISO date or time, or a duration back (90m, 2h, 7d)', moment)
    .option('--limit <n>', 'at most this many (default 50)', positiveInt, 50)
    .action(async (opts: { since?: Date; limit: number }) =>
      cli.withContext(async (ctx, o) => {
        const a = await listAudit(ctx, opts);
        o.result(a, () => formatAudit(a));
        return EXIT.ok;
      }),
    );
}

export type { CliContext, Output, PhaseChange, PhaseOptions };
