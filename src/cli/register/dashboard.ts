import { TOKEN_ENV } from '../../dashboard/auth.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../../dashboard/server.js';
import { port, type Cli } from '../cli-kit.js';
import { dashboardLink, serveDashboard, type DashboardCliOptions } from '../commands/dashboard.js';
import { EXIT } from '../output.js';

/** Resolves on Ctrl-C or a TERM signal. */
const stopped = async (): Promise<void> =>
  new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

/** `midair dashboard`: the live web view and its controls. */
export function registerDashboard(cli: Cli): void {
  cli.program
    .command('dashboard')
    .description(
      'a live web view of the migrations the config declares, with controls (advance, rollback, ramp, strict, backfill pause/resume/rate) that go through the same checks, gates and audit log as the commands; runs until Ctrl-C',
    )
    .option(
      '--host <address>',
      `where to listen (default ${DEFAULT_HOST}); an address other than loopback makes the dashboard reachable from the network, and needs a token you choose (${TOKEN_ENV} or --token), sent for reads too`,
    )
    .option('--port <n>', `the port (default ${DEFAULT_PORT}; 0 picks a free one)`, port)
    .option(
      '--token <token>',
      `the token the controls need, at least 16 characters (default: ${TOKEN_ENV}, else a fresh one, printed at start); prefer the variable: a command line is visible to other users of the machine`,
    )
    .addHelpText(
      'after',
      `\nEvery migration of the config is watched; -m/--migration <name>[,<name>…] limits it to those.\nThe page sends the token in an "Authorization: Bearer" header (never a cookie). Row values are never shown: keys and counts only.`,
    )
    .action(async (opts: DashboardCliOptions) => {
      const globals = cli.globals();
      const d = await serveDashboard(globals, opts, cli.actor());
      const link = dashboardLink(d);
      cli.out().result(
        {
          url: d.server.url,
          port: d.server.port,
          migrations: d.migrations,
          ...(d.token.generated ? { token: d.token.token } : {}),
        },
        () =>
          [
            `midair dashboard: ${d.migrations.join(', ')} at ${d.server.url}`,
            d.token.generated
              ? `  open ${link}\n  (the token, made for this run: ${d.token.token}; set ${TOKEN_ENV} to choose one)`
              : `  the controls need the token from ${opts.token === undefined ? TOKEN_ENV : '--token'}`,
            '  Ctrl-C stops it.',
          ].join('\n'),
      );
      await stopped();
      await d.close();
      process.exitCode = EXIT.ok;
    });
}
