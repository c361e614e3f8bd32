import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { createCli } from './cli-kit.js';
import { EXIT, exitCodeOf, printError } from './output.js';
import { registerDashboard } from './register/dashboard.js';
import { registerOperations } from './register/operations.js';
import { registerPhase } from './register/phase.js';
import { registerTools } from './register/tools.js';
import { registerWork } from './register/work.js';
import { registerWorker } from './register/worker.js';

const EXIT_CODES = `Exit codes: ${EXIT.ok} done; ${EXIT.notClean} done, and what it checked is not clean (differences, a blocked gate, an unfinished run, dead letters); ${EXIT.usage} bad usage, configuration, a refused step or a schema error (nothing written); ${EXIT.failure} a store or the control store failed.`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/** Usage errors as the rest of the output: a JSON error object with --json, commander's text otherwise. */
const wantsJson = process.argv.includes('--json');

const program = new Command()
  .name('midair')
  .description(
    'Zero-downtime data migrations: dual writes, backfill, shadow reads, ramp, cutover, rollback and verification.',
  )
  .version(version(), '-V, --version', 'print the version of midair')
  .option('-c, --config <file>', 'the config file (default: midair.config.ts, .js or .json in this folder)')
  .option('-m, --migration <name>', 'which migration of the config (needed when it declares several)')
  .option('--json', 'print the result as JSON (no colours, no progress bars)')
  .option('--actor <name>', 'who runs the command, as the audit log names them (default user@host)')
  .configureHelp({ showGlobalOptions: true })
  .addHelpText('afterAll', `\n${EXIT_CODES}`)
  .exitOverride();
if (wantsJson) program.configureOutput({ writeErr: () => undefined });
else program.showHelpAfterError();

const cli = createCli(program);
registerTools(cli);
registerPhase(cli);
registerOperations(cli);
registerWork(cli);
registerWorker(cli);
registerDashboard(cli);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander printed the problem (and help) already, unless --json asked for JSON; --help and --version exit 0.
    process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (wantsJson && err.exitCode !== 0)
      process.stdout.write(
        `${JSON.stringify({ error: { code: 'USAGE', message: err.message.replace(/^error: /, '') } })}\n`,
      );
  } else {
    printError(err, cli.globals().json === true);
    process.exitCode = exitCodeOf(err);
  }
}
