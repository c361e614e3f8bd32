import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { formatVerifyReport, verifyExitCode } from '../verify/report.js';
import { VERIFY_MODES, type VerifyMode } from '../verify/verify-options.js';
import { evictInstance, formatEviction, formatFleet, listFleet } from './commands/fleet.js';
import { init } from './commands/init.js';
import { advance, rollback, setRamp, type PhaseChange, type PhaseOptions } from './commands/phase.js';
import { plan, planMarkdown } from './commands/plan.js';
import { formatRepairs, formatRepairsChange, listRepairs, resolveRepairs, retryRepairs } from './commands/repairs.js';
import { formatStatus, status } from './commands/status.js';
import { backfill, backfillExitCode, formatBackfill, verify } from './commands/work.js';
import { acceptDeadLetters, formatDeadLetters, listDeadLetters, retryDeadLetters } from './commands/dead-letters.js';
import { checkBoth, formatChecks } from './schema-guard.js';
import { openContext, type CliContext, type GlobalOptions } from './context.js';
import { EXIT, exitCodeOf, output, printError, type Output } from './output.js';
import { runSelfCheck } from './selfcheck.js';
import { formatDemo, runDemo } from '../demo/index.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError('expected a percentage between 0 and 100');
  return n;
}

const program = new Command()
  .name('midair')
  .description(
    'Zero-downtime data migrations: dual writes, backfill, shadow reads, ramp, cutover, rollback and verification.',
  )
  .option('-c, --config <file>', 'the config file (default: midair.config.ts, .js or .json in this folder)')
  .option('-m, --migration <name>', 'which migration of the config (needed when it declares several)')
  .option('--json', 'print the result as JSON (no colours, no progress bars)')
  .addHelpText(
    'after',
    `\nExit codes: ${EXIT.ok} done; ${EXIT.notClean} done, and what it checked is not clean (differences, a blocked gate, an unfinished run); ${EXIT.usage} bad usage or configuration (nothing written); ${EXIT.failure} a store or the control store failed.`,
  )
  .showHelpAfterError()
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
const out = (): Output => output(globals().json === true);
const terminal = (): boolean => !globals().json && process.stdout.isTTY;

function share(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError('expected a share between 0 and 1, e.g. 0.01 for 1 %');
  return n;
}

/** Runs a command against the config's migration; sets the exit code from what it returns. Opening writes nothing: a writing command prepares once it validated its input. */
async function withContext(
  fn: (ctx: CliContext, o: Output) => Promise<number | undefined>,
  writes = false,
): Promise<void> {
  const ctx = await openContext(globals(), !writes);
  try {
    process.exitCode = (await fn(ctx, out())) ?? EXIT.ok;
  } finally {
    await ctx.close();
  }
}

program
  .command('init')
  .description('write a midair.config.ts (or .json) to start from')
  .addOption(new Option('--format <format>', 'config file format').choices(['ts', 'json']).default('ts'))
  .option('--force', 'overwrite an existing config')
  .action((o: { format: 'ts' | 'json'; force?: boolean }) => {
    const r = init(process.cwd(), o.format, o.force === true);
    out().result(
      r,
      () =>
        `wrote ${r.path}: set OLD_DATABASE_URL and NEW_DATABASE_URL, adjust the mappings, then run \`midair status\``,
    );
  });

program
  .command('status')
  .description(
    'phase, whether old and new answer, instances and what they acknowledged, backfill, repairs, last verification, and the gates into the next phase; writes nothing (exit 1 when a store does not answer)',
  )
  .action(async () =>
    withContext(async (ctx, o) => {
      const { report } = await status(ctx);
      o.result(report, () => formatStatus(report));
      return report.stores.old.reachable && report.stores.new.reachable ? EXIT.ok : EXIT.notClean;
    }),
  );

program
  .command('plan')
  .description(
    'the migration plan (phases, backfill, shadow reads, cutover, validation, rollback), each item checked against the real state',
  )
  .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
  .action(async (opts: { format: 'markdown' | 'json' }) =>
    withContext(async (ctx, o) => {
      const p = await plan(ctx);
      if (opts.format === 'json' || o.json) output(true).result(p, () => '');
      else process.stdout.write(`${planMarkdown(p)}\n`);
      return p.sections.some((s) => s.items.some((i) => i.state === 'failed')) ? EXIT.notClean : EXIT.ok;
    }),
  );

const phase = program
  .command('phase')
  .description('move the migration: advance, set the ramp, roll back (every change is audited)');
const phaseAction =
  (run: (ctx: CliContext, o: PhaseOptions, log: Output) => Promise<PhaseChange>) => async (opts: PhaseOptions) =>
    withContext(async (ctx, o) => {
      const r = await run(ctx, opts, o);
      o.result(
        r,
        () =>
          `${ctx.spec.name}: ${r.from.phase} → ${r.to.phase}${r.to.phase === 'ramp' ? ` ${r.to.rampPercent} %` : ''} (version ${r.to.version})${r.forced ? ' — forced, recorded in the audit log' : ''}${r.resync ? `\n${formatVerifyReport(r.resync)}` : ''}`,
      );
      return r.resync && r.resync.status !== 'equal' ? EXIT.notClean : EXIT.ok;
    }, true);
phase
  .command('advance')
  .description('to the next phase, if its gates pass (entering new-primary asks for confirmation)')
  .option('--reason <text>', 'why (goes to the audit log; required with --force)')
  .option('--force', 'pass failing gates (needs --reason)')
  .option('--yes', 'confirm entering new-primary or complete without asking')
  .option('--ramp <percent>', 'the share of keys read from new when entering ramp (default 10)', percent)
  .action(phaseAction((ctx, o) => advance(ctx, o)));
phase
  .command('set')
  .description('change the ramp percentage (within ramp)')
  .requiredOption('--ramp <percent>', 'the share of keys read from new', percent)
  .option('--reason <text>', 'why (goes to the audit log)')
  .action(phaseAction((ctx, o) => setRamp(ctx, o)));
phase
  .command('rollback')
  .description('one phase back; from new-primary, old is re-synced from new first')
  .option('--reason <text>', 'why (goes to the audit log; required with --force)')
  .option('--force', 'roll back even where a re-sync could not make old whole, or from old-read-only')
  .action(
    phaseAction((ctx, o, log) => rollback(ctx, o, () => log.line('re-syncing old from new before switching back…'))),
  );

const repairs = program
  .command('repairs')
  .description('repairs the repairers could not finish: list them, retry them, or accept them (audited)');
repairs
  .command('list')
  .description('pending and parked repairs: key, reason, attempts, store and the constraint the data breaks')
  .option('--limit <n>', 'at most this many of each (default 100)', positiveInt)
  .action(async (opts: { limit?: number }) =>
    withContext(async (ctx, o) => {
      const r = await listRepairs(ctx, opts.limit);
      o.result(r, () => formatRepairs(r));
      return r.parked > 0 ? EXIT.notClean : EXIT.ok;
    }),
  );
repairs
  .command('retry')
  .description('put parked repairs back in the queue, due at once (audited repair-retry)')
  .argument('[keyIds...]', 'the parked keys, as `midair repairs list` prints them')
  .option('--all', 'every parked repair')
  .option('--reason <text>', 'why (goes to the audit log)')
  .action(async (keyIds: string[], opts: { all?: boolean; reason?: string }) =>
    withContext(async (ctx, o) => {
      const r = await retryRepairs(ctx, keyIds, opts);
      o.result(r, () => formatRepairsChange(r));
      return EXIT.ok;
    }),
  );
repairs
  .command('resolve')
  .description('accept parked repairs as they are and drop them (audited repair-resolve)')
  .argument('<keyIds...>', 'the parked keys, as `midair repairs list` prints them')
  .option('--reason <text>', 'why (required; goes to the audit log)')
  .action(async (keyIds: string[], opts: { reason?: string }) =>
    withContext(async (ctx, o) => {
      const r = await resolveRepairs(ctx, keyIds, opts);
      o.result(r, () => formatRepairsChange(r));
      return EXIT.ok;
    }),
  );

const fleet = program
  .command('fleet')
  .description('the application instances: list them, evict one that is gone (audited)');
fleet
  .command('list')
  .description('instance id, host, pid, the phase version it acknowledged and the age of its last heartbeat')
  .action(async () =>
    withContext(async (ctx, o) => {
      const f = await listFleet(ctx);
      o.result(f, () => formatFleet(f));
      return EXIT.ok;
    }),
  );
fleet
  .command('evict')
  .description('remove the heartbeat of an instance that is gone for good (audited evict)')
  .argument('<instance>', 'the instance id, as `midair fleet list` prints it')
  .option('--reason <text>', 'why (required; goes to the audit log)')
  .action(async (instance: string, opts: { reason?: string }) =>
    withContext(async (ctx, o) => {
      const e = await evictInstance(ctx, instance, opts);
      o.result(e, () => formatEviction(e));
      return EXIT.ok;
    }),
  );

program
  .command('check')
  .description(
    "compare both stores' mappings with their live schemas, and the two with each other (key codecs, unique constraints and their collations); writes nothing. Exit 0 clean, 1 warnings only, 2 errors (commands that write refuse)",
  )
  .action(async () =>
    withContext(async (ctx, o) => {
      const c = await checkBoth(ctx.old, ctx.new, ctx.keyMappings);
      o.result(c, () => formatChecks(c));
      return c.errors > 0 ? EXIT.usage : c.warnings > 0 ? EXIT.notClean : EXIT.ok;
    }),
  );

program
  .command('backfill')
  .description(
    'copy old into new beside live writes (resumes where a killed run stopped); from dual-write to ramp only',
  )
  .option('--workers <n>', 'parallel workers over leased key ranges', positiveInt)
  .option('--max-rows-per-second <n>', 'a ceiling on the copy rate', positiveInt)
  .option('--restart', 'start from the first key, ignoring the checkpoint')
  .option('--allow-deletes', 'let the prune delete more than --max-delete-share of new (keys new holds and old lacks)')
  .option(
    '--max-delete-share <share>',
    'the share of new the prune may delete without --allow-deletes (default 0.01)',
    share,
  )
  .action(
    async (opts: {
      workers?: number;
      maxRowsPerSecond?: number;
      restart?: boolean;
      allowDeletes?: boolean;
      maxDeleteShare?: number;
    }) =>
      withContext(async (ctx, o) => {
        const r = await backfill(ctx, { ...opts, bar: terminal() });
        o.result(r, () => formatBackfill(r));
        return backfillExitCode(r);
      }, true),
  );

program
  .command('sweep')
  .description('copy what new still lacks (after a lazy migration)')
  .action(async () =>
    withContext(async (ctx, o) => {
      const r = await backfill(ctx, { bar: terminal() }, true);
      o.result(r, () => formatBackfill(r, 'sweep'));
      return backfillExitCode(r);
    }, true),
  );

const deadLetters = program
  .command('dead-letters')
  .description('rows the backfill could not copy (key, error code and field; never a value)');
deadLetters
  .command('list')
  .description('the dead letters, oldest first')
  .option('--limit <n>', 'how many to show', positiveInt, 100)
  .action(async (opts: { limit: number }) =>
    withContext(async (ctx, o) => {
      const l = await listDeadLetters(ctx, opts.limit);
      o.result(l, () => formatDeadLetters(l));
      return l.total > 0 ? EXIT.notClean : EXIT.ok;
    }),
  );
deadLetters
  .command('retry')
  .description('copy the dead letters again (after the data or the schema was fixed); copies only, never deletes')
  .action(async () =>
    withContext(async (ctx, o) => {
      const r = await retryDeadLetters(ctx);
      o.result(r, () => `dead letters: ${r.retried} retried, ${r.copied} copied, ${r.stillFailing} still failing`);
      return r.stillFailing > 0 ? EXIT.notClean : EXIT.ok;
    }, true),
  );
deadLetters
  .command('accept [keys...]')
  .description(
    'accept dead letters (all, or the keys given) as rows new will not get: the gates stop blocking on them; recorded in the audit log',
  )
  .option('--force', 'needed: accepting drops rows from the migration')
  .option('--reason <text>', 'why (goes to the audit log; needed)')
  .action(async (keys: string[], opts: { force?: boolean; reason?: string }) =>
    withContext(async (ctx, o) => {
      const r = await acceptDeadLetters(ctx, { ...opts, keys });
      o.result(r, () => `accepted ${r.accepted} dead letter(s); recorded in the audit log`);
      return EXIT.ok;
    }, true),
  );

const verifyCommand = (name: string, repair: boolean, description: string): void => {
  program
    .command(name)
    .description(description)
    .addOption(new Option('--mode <mode>', 'count, sample or full').choices(VERIFY_MODES).default('full'))
    .option('--sample-size <n>', 'keys sampled from each side (sample mode)', positiveInt)
    .option('--workers <n>', 'parallel workers over leased key ranges', positiveInt)
    .option('--restart', 'start a new run even if one was checkpointed')
    .action(async (opts: { mode: VerifyMode; sampleSize?: number; workers?: number; restart?: boolean }) =>
      withContext(async (ctx, o) => {
        const r = await verify(ctx, { ...opts, repair, bar: terminal() });
        o.result(r, () => formatVerifyReport(r));
        return r.status === 'failed' ? EXIT.failure : verifyExitCode(r);
      }, true),
    );
};
verifyCommand(
  'verify',
  false,
  'compare old and new entity by entity (hashes in each database, then the exact differing keys)',
);
verifyCommand('repair', true, 're-sync what differs from the authoritative store, then verify those keys again');

program
  .command('demo')
  .description(
    'a whole migration on embedded SQLite in under a minute: instances serve traffic while every phase is walked through its gates, with a fault burst auto-halt catches; prints a timeline and latency per phase, writes an HTML report',
  )
  .option('--rows <n>', 'users seeded into old', positiveInt, 10_000)
  .option('--seconds <n>', 'how long to dwell in each phase', positiveInt, 3)
  .option('--instances <n>', 'simulated application instances', positiveInt, 3)
  .option('--report <file>', 'where to write the HTML report', 'midair-demo-report.html')
  .option('--no-report', 'write no HTML report')
  .option('--dir <path>', 'keep the SQLite files in this folder instead of a temporary one')
  .action(async (opts: { rows: number; seconds: number; instances: number; report: string | false; dir?: string }) => {
    const json = globals().json === true;
    const log = json ? undefined : (line: string): void => console.log(line);
    log?.(`midair demo: ${opts.rows} users, ${opts.instances} instances, SQLite users → users + user_profiles\n`);
    const result = await runDemo({
      rows: opts.rows,
      phaseSeconds: opts.seconds,
      instances: opts.instances,
      report: opts.report,
      dir: opts.dir,
      log,
      progressBar: terminal(),
    });
    out().result(result, () => formatDemo(result));
    process.exitCode = result.ok ? EXIT.ok : EXIT.notClean;
  });

program
  .command('selfcheck')
  .description(
    'migrate users between two embedded SQLite databases (old schema → split new schema): dual writes, a backfill beside live writes, verification and repair',
  )
  .option('--rows <n>', 'rows to seed into the old table', positiveInt, 20_000)
  .option('--dir <path>', 'keep the two SQLite files in this folder instead of a temporary one')
  .action(async (opts: { rows: number; dir?: string }) => {
    const json = globals().json === true;
    const log = json ? undefined : (line: string): void => console.log(line);
    log?.(`midair selfcheck: ${opts.rows} users, SQLite old → SQLite new (users + user_profiles)\n`);
    const result = await runSelfCheck({ rows: opts.rows, dir: opts.dir, log, progressBar: terminal() });
    out().result(result, () => {
      const c = result.compare;
      return (
        `\n${formatVerifyReport(result.repairRun)}\n\n${result.ok ? 'OK' : 'FAILED'}: ${c.equal} entities equal, ${c.missing} missing, ${c.extra} extra, ${c.different} different; ` +
        `${result.liveUpdates} live updates and ${result.liveDeletes} live deletes during the backfill, ${result.resurrected} resurrected.`
      );
    });
    process.exitCode = result.ok ? EXIT.ok : EXIT.notClean;
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander printed the problem (and help) already; --help and --version exit 0.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    printError(err, globals().json === true);
    process.exitCode = exitCodeOf(err);
  }
}
