import { Option } from 'commander';
import { formatDemo, runDemo, type DemoLive } from '../../demo/index.js';
import { DEFAULT_PORT } from '../../dashboard/server.js';
import { formatVerifyReport } from '../../verify/report.js';
import { port, positiveInt, type Cli } from '../cli-kit.js';
import { demoDashboard } from '../commands/dashboard.js';
import { init } from '../commands/init.js';
import { plan, planMarkdown } from '../commands/plan.js';
import { formatStatus, status } from '../commands/status.js';
import { EXIT, output } from '../output.js';
import { checkBoth, formatChecks } from '../schema-guard.js';
import { runSelfCheck } from '../selfcheck.js';

/** The commands that look and set up: init, status, plan, check; and the two that run on embedded SQLite. */
export function registerTools(cli: Cli): void {
  registerLooks(cli);
  registerEmbedded(cli);
}

/** init, status, plan and check: they set up or look, and write nothing to the stores. */
function registerLooks(cli: Cli): void {
  cli.program
    .command('init')
    .description('write a midair.config.ts (or .json) to start from')
    .addOption(new Option('--format <format>', 'config file format').choices(['ts', 'json']).default('ts'))
    .option('--force', 'overwrite an existing config')
    .action((o: { format: 'ts' | 'json'; force?: boolean }) => {
      const r = init(process.cwd(), o.format, o.force === true);
      cli
        .out()
        .result(
          r,
          () =>
            `wrote ${r.path}: set OLD_DATABASE_URL and NEW_DATABASE_URL, adjust the mappings, then run \`midair status\``,
        );
    });

  cli.program
    .command('status')
    .description(
      'phase, whether old and new answer, instances and what they acknowledged, backfill, repairs, last verification, and the gates into the next phase; writes nothing (exit 1 when a store does not answer)',
    )
    .action(async () =>
      cli.withContext(async (ctx, o) => {
        const { report } = await status(ctx);
        o.result(report, () => formatStatus(report));
        return report.stores.old.reachable && report.stores.new.reachable ? EXIT.ok : EXIT.notClean;
      }),
    );

  cli.program
    .command('plan')
    .description(
      'the migration plan (phases, backfill, shadow reads, cutover, validation, rollback), each item checked against the real state',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .action(async (opts: { format: 'markdown' | 'json' }) =>
      cli.withContext(async (ctx, o) => {
        const p = await plan(ctx);
        if (opts.format === 'json' || o.json) output(true).result(p, () => '');
        else process.stdout.write(`${planMarkdown(p)}\n`);
        return p.sections.some((s) => s.items.some((i) => i.state === 'failed')) ? EXIT.notClean : EXIT.ok;
      }),
    );

  cli.program
    .command('check')
    .description(
      "compare both stores' mappings with their live schemas, and the two with each other (key codecs, unique constraints and their collations); writes nothing. Exit 0 clean, 1 warnings only, 2 errors (commands that write refuse)",
    )
    .action(async () =>
      cli.withContext(async (ctx, o) => {
        const c = await checkBoth(ctx.old, ctx.new, ctx.keyMappings);
        o.result(c, () => formatChecks(c));
        return c.errors > 0 ? EXIT.usage : c.warnings > 0 ? EXIT.notClean : EXIT.ok;
      }),
    );
}

/** The demo and the self-check: whole migrations on embedded SQLite. */
function registerEmbedded(cli: Cli): void {
  cli.program
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
    .option('--dashboard', 'serve the dashboard while it runs (watch-only: the demo moves the phases itself)')
    .option('--port <n>', `the dashboard's port (default ${DEFAULT_PORT}; 0 picks a free one)`, port)
    .action(
      async (opts: {
        rows: number;
        seconds: number;
        instances: number;
        report: string | false;
        dir?: string;
        dashboard?: boolean;
        port?: number;
      }) => {
        const json = cli.globals().json === true;
        const log = json ? undefined : (line: string): void => console.log(line);
        // With --json the dashboard's address goes to stderr: stdout holds the one JSON result.
        const say = log ?? ((line: string): void => void process.stderr.write(`${line}\n`));
        log?.(`midair demo: ${opts.rows} users, ${opts.instances} instances, SQLite users → users + user_profiles\n`);
        const result = await runDemo({
          rows: opts.rows,
          phaseSeconds: opts.seconds,
          instances: opts.instances,
          report: opts.report,
          dir: opts.dir,
          log,
          progressBar: cli.terminal(),
          ...(opts.dashboard ? { attach: async (live: DemoLive) => demoDashboard(live, opts.port, say) } : {}),
        });
        cli.out().result(result, () => formatDemo(result));
        process.exitCode = result.ok ? EXIT.ok : EXIT.notClean;
      },
    );

  cli.program
    .command('selfcheck')
    .description(
      'migrate users between two embedded SQLite databases (old schema → split new schema): dual writes, a backfill beside live writes, verification and repair',
    )
    .option('--rows <n>', 'rows to seed into the old table', positiveInt, 20_000)
    .option('--dir <path>', 'keep the two SQLite files in this folder instead of a temporary one')
    .action(async (opts: { rows: number; dir?: string }) => {
      const json = cli.globals().json === true;
      const log = json ? undefined : (line: string): void => console.log(line);
      log?.(`midair selfcheck: ${opts.rows} users, SQLite old → SQLite new (users + user_profiles)\n`);
      const result = await runSelfCheck({ rows: opts.rows, dir: opts.dir, log, progressBar: cli.terminal() });
      cli.out().result(result, () => {
        const c = result.compare;
        return (
          `\n${formatVerifyReport(result.repairRun)}\n\n${result.ok ? 'OK' : 'FAILED'}: ${c.equal} entities equal, ${c.missing} missing, ${c.extra} extra, ${c.different} different; ` +
          `${result.liveUpdates} live updates and ${result.liveDeletes} live deletes during the backfill, ${result.resurrected} resurrected.`
        );
      });
      process.exitCode = result.ok ? EXIT.ok : EXIT.notClean;
    });
}
