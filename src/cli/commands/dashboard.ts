import { join } from 'node:path';
import { loadConfig, type ResolvedConfig, type ResolvedMigration } from '../../config/load-config.js';
import type { SqlMapping } from '../../mapping/mapping.js';
import type { DemoLive } from '../../demo/index.js';
import { chooseToken, TOKEN_ENV, type TokenChoice } from '../../dashboard/auth.js';
import { DEFAULT_HOST, startDashboard, type DashboardServer } from '../../dashboard/server.js';
import { attachContext, openContext, pickMigration, type CliContext, type GlobalOptions } from '../context.js';

export interface DashboardCliOptions {
  readonly host?: string;
  readonly port?: number;
  readonly token?: string;
}

/** A running `midair dashboard`: the server, the token and how to stop both it and the contexts it opened. */
export interface RunningDashboard {
  readonly server: DashboardServer;
  readonly token: TokenChoice;
  readonly migrations: readonly string[];
  close(): Promise<void>;
}

/** The migrations to watch: those `-m` names (comma-separated), or every one the config declares. */
export function dashboardMigrations(config: ResolvedConfig, named: string | undefined): string[] {
  if (named === undefined) return [...config.migrations.keys()];
  const names = [...new Set(named.split(',').map((n) => n.trim()))].filter((n) => n !== '');
  return names.map((n) => pickMigration(config, n).name);
}

/**
 * `midair dashboard`: checks the bind and the token first (nothing opened
 * on a refusal), then opens one context per migration, as read-only
 * commands do (a store that does not answer is shown, not fatal), and serves.
 */
export async function serveDashboard(
  globals: GlobalOptions,
  o: DashboardCliOptions,
  actor: string,
): Promise<RunningDashboard> {
  const host = o.host ?? DEFAULT_HOST;
  const token = chooseToken({ host, token: o.token, env: process.env[TOKEN_ENV] });
  const config = await loadConfig(globals.config);
  const names = dashboardMigrations(config, globals.migration);
  const contexts: CliContext[] = [];
  const closeContexts = async (): Promise<void> => {
    for (const c of contexts.splice(0).reverse()) await c.close().catch(() => undefined);
  };
  try {
    for (const migration of names) contexts.push(await openContext({ ...globals, migration }, true, config));
    const server = await startDashboard({
      migrations: contexts.map((ctx) => ({ ctx })),
      token: token.token,
      actor: `${actor} via dashboard`,
      host,
      ...(o.port === undefined ? {} : { port: o.port }),
    });
    return {
      server,
      token,
      migrations: names,
      close: async () => {
        await server.close();
        await closeContexts();
      },
    };
  } catch (err) {
    await closeContexts();
    throw err;
  }
}

/** The page's address; with a token made at start, the token rides in the fragment (never sent to the server, kept in the tab). */
export function dashboardLink(d: RunningDashboard): string {
  return d.token.generated ? `${d.server.url}#token=${d.token.token}` : d.server.url;
}

/**
 * The demo's migration as a context (`midair demo --dashboard`): its stores
 * and control store, already open, with the demo's gate thresholds.
 */
export function demoContext(live: DemoLive): CliContext {
  const store = (name: 'old' | 'new', mapping: SqlMapping<never>): ResolvedMigration['old'] => ({
    url: `sqlite:${join(live.dir, `${name}.sqlite`)}`,
    from: 'the demo',
    mapping: mapping as SqlMapping<object>,
    name: live[name].name,
  });
  const t = live.thresholds;
  const spec: ResolvedMigration = {
    name: live.name,
    old: store('old', live.mappings.old),
    new: store('new', live.mappings.new),
    gates: {
      ...(t.minComparisons === undefined ? {} : { minComparisons: t.minComparisons }),
      ...(t.maxMismatchRate === undefined ? {} : { maxMismatchRate: t.maxMismatchRate }),
      ...(t.rollbackWindowMs === undefined ? {} : { rollbackWindowHours: t.rollbackWindowMs / 3_600_000 }),
    },
  };
  const config: ResolvedConfig = {
    path: join(live.dir, 'demo'),
    control: { url: `sqlite:${join(live.dir, 'control.sqlite')}`, from: 'the demo' },
    migrations: new Map([[spec.name, spec]]),
  };
  return attachContext(config, spec, {
    control: live.control,
    old: live.old,
    new: live.new,
  });
}

/**
 * Serves the dashboard of the running demo, watch-only (the demo's script
 * moves the phases), and hears its instances' mismatches. Resolves how to stop it.
 */
export async function demoDashboard(
  live: DemoLive,
  port: number | undefined,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  const ctx = demoContext(live);
  try {
    const server = await startDashboard({
      migrations: [{ ctx, sources: live.fleet }],
      token: chooseToken({ host: DEFAULT_HOST }).token,
      actor: 'demo',
      controls: false,
      ...(port === undefined ? {} : { port }),
    });
    log(`dashboard: ${server.url} (it watches; the demo moves the phases itself)`);
    return async () => {
      await server.close();
      await ctx.close();
    };
  } catch (err) {
    await ctx.close();
    throw err;
  }
}
