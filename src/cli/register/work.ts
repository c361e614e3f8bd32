import { Option, type Command } from 'commander';
import { formatVerifyReport, verifyExitCode } from '../../verify/report.js';
import { VERIFY_MODES, type VerifyMode } from '../../verify/verify-options.js';
import { positiveInt, share, type Cli } from '../cli-kit.js';
import {
  backfill,
  backfillExitCode,
  controlBackfill,
  formatBackfill,
  formatSteering,
  verify,
  type SteeredJob,
} from '../commands/work.js';
import { EXIT } from '../output.js';

/** The heavy work: backfill (and steering a running one), sweep, verify and repair. */
export function registerWork(cli: Cli): void {
  const backfillCommand = cli.program.command('backfill');
  backfillCommand
    .description(
      'copy old into new beside live writes (resumes where a killed run stopped); from dual-write to ramp only',
    )
    .option('--workers <n>', 'parallel workers over leased key ranges', positiveInt)
    .option(
      '--queue <url>',
      'hand the copy to `midair worker` processes through a BullMQ queue (redis://… or postgres://…) and follow it',
    )
    .option('--queue-prefix <prefix>', 'the queue is <prefix>-<migration> (default midair)')
    .option('--ranges <n>', 'key ranges to split the copy into (default 4 × workers; 64 with --queue)', positiveInt)
    .option('--max-rows-per-second <n>', 'a ceiling on the copy rate', positiveInt)
    .option('--restart', 'start from the first key, ignoring the checkpoint')
    .option(
      '--allow-deletes',
      'let the prune delete more than --max-delete-share of new (keys new holds and old lacks)',
    )
    .option(
      '--max-delete-share <share>',
      'the share of new the prune may delete without --allow-deletes (default 0.01)',
      share,
    )
    .action(
      async (opts: {
        workers?: number;
        queue?: string;
        queuePrefix?: string;
        ranges?: number;
        maxRowsPerSecond?: number;
        restart?: boolean;
        allowDeletes?: boolean;
        maxDeleteShare?: number;
      }) =>
        cli.withContext(async (ctx, o) => {
          const r = await backfill(ctx, { ...opts, report: cli.report('backfill') });
          o.result(r, () => formatBackfill(r));
          return backfillExitCode(r);
        }, true),
    );

  cli.program
    .command('sweep')
    .description('copy what new still lacks (after a lazy migration)')
    .option('--queue <url>', 'hand the copy to `midair worker` processes through a BullMQ queue, and follow it')
    .option('--queue-prefix <prefix>', 'the queue is <prefix>-<migration> (default midair)')
    .action(async (opts: { queue?: string; queuePrefix?: string }) =>
      cli.withContext(async (ctx, o) => {
        const r = await backfill(ctx, { ...opts, report: cli.report('sweep') }, true);
        o.result(r, () => formatBackfill(r, 'sweep'));
        return backfillExitCode(r);
      }, true),
    );

  registerSteering(cli, backfillCommand, 'backfill');
  registerSteering(cli, registerVerify(cli), 'verify');
}

/** `verify` and `repair`; resolves the `verify` command (its steering goes under it). */
function registerVerify(cli: Cli): Command {
  const verifyCommand = (name: string, repair: boolean, description: string): Command =>
    cli.program
      .command(name)
      .description(description)
      .addOption(new Option('--mode <mode>', 'count, sample or full').choices(VERIFY_MODES).default('full'))
      .option('--sample-size <n>', 'keys sampled from each side (sample mode)', positiveInt)
      .option('--workers <n>', 'parallel workers over leased key ranges', positiveInt)
      .option(
        '--queue <url>',
        'hand the full pass to `midair worker` processes through a BullMQ queue (redis://… or postgres://…) and follow it',
      )
      .option('--queue-prefix <prefix>', 'the queue is <prefix>-<migration> (default midair)')
      .option('--ranges <n>', 'key ranges to split the pass into (default 4 × workers; 64 with --queue)', positiveInt)
      .option(
        '--max-rows-per-second <n>',
        'a ceiling on old’s rows compared per second, over every worker',
        positiveInt,
      )
      .option('--restart', 'start a new run even if one was checkpointed')
      .action(
        async (opts: {
          mode: VerifyMode;
          sampleSize?: number;
          workers?: number;
          queue?: string;
          queuePrefix?: string;
          ranges?: number;
          maxRowsPerSecond?: number;
          restart?: boolean;
        }) =>
          cli.withContext(async (ctx, o) => {
            const r = await verify(ctx, { ...opts, repair, report: cli.report(name) });
            o.result(r, () => formatVerifyReport(r));
            return r.status === 'failed' ? EXIT.failure : verifyExitCode(r);
          }, true),
      );
  const command = verifyCommand(
    'verify',
    false,
    'compare old and new entity by entity (hashes in each database, then the exact differing keys)',
  );
  verifyCommand('repair', true, 're-sync what differs from the authoritative store, then verify those keys again');
  return command;
}

/** `backfill|verify pause|resume|rate`: a running job steered through the control store, in every process that runs it. */
function registerSteering(cli: Cli, parent: Command, job: SteeredJob): void {
  const what = job === 'verify' ? 'verification' : 'backfill';
  for (const [name, description] of [
    ['pause', `pause the running ${what} at its next step, in every process that runs it (it keeps its leases)`],
    ['resume', `resume a paused ${what}`],
  ] as const) {
    parent
      .command(name)
      .description(description)
      .action(async () =>
        cli.withContext(async (ctx, o) => {
          const r = await controlBackfill(ctx, { paused: name === 'pause' }, job);
          o.result(r, () => formatSteering(ctx.spec.name, { paused: name === 'pause' }, r, job));
          return EXIT.ok;
        }, true),
      );
  }
  parent
    .command('rate')
    .description(`change the running ${what}’s ceiling, in rows per second over every worker and process`)
    .argument('<rowsPerSecond>', 'the new ceiling', positiveInt)
    .action(async (rowsPerSecond: number) =>
      cli.withContext(async (ctx, o) => {
        const r = await controlBackfill(ctx, { maxRowsPerSecond: rowsPerSecond }, job);
        o.result(r, () => formatSteering(ctx.spec.name, { maxRowsPerSecond: rowsPerSecond }, r, job));
        return EXIT.ok;
      }, true),
    );
}
