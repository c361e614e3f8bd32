import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { CliContext } from '../cli/context.js';
import { MidairError } from '../core/errors.js';
import { isLoopback } from './auth.js';
import { dashboardApp, type Watched } from './routes.js';
import { MigrationWatch, type MismatchSource } from './watch.js';

/** Where the dashboard listens unless told otherwise: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7420;

export interface DashboardOptions {
  /** The migrations to watch, each with its context (and instances in this process whose mismatches it lists). */
  readonly migrations: readonly { readonly ctx: CliContext; readonly sources?: readonly MismatchSource[] }[];
  readonly token: string;
  /** Who the audit log names for the controls. */
  readonly actor: string;
  /** Default {@link DEFAULT_HOST}. Off loopback, every route needs the token. */
  readonly host?: string;
  /** Default {@link DEFAULT_PORT}; 0 takes any free port. */
  readonly port?: number;
  /** False: watch only, every control refused. Default true. */
  readonly controls?: boolean;
  /** Row values may be shown (mismatches heard in this process with `shadow.includeValues`). Default false. */
  readonly valueCapture?: boolean;
  /** How often each migration is sampled, ms. Default 1000. */
  readonly sampleMs?: number;
  /** Samples kept per migration. Default 3600. */
  readonly history?: number;
  /** The built page's folder (default: the package's build). */
  readonly pageDir?: string;
}

export interface DashboardServer {
  /** Where the page is, e.g. `http://127.0.0.1:7420/`. */
  readonly url: string;
  readonly port: number;
  readonly app: Hono;
  /** Stops sampling, ends the live feeds and closes the server (the contexts stay open: their owner closes them). */
  close(): Promise<void>;
}

/**
 * The routes and the samplers of `migrations`, without a server: what
 * {@link startDashboard} serves, and what tests call with `app.request`.
 * Each migration is read once before this resolves.
 */
export async function dashboard(
  o: DashboardOptions,
): Promise<{ app: Hono; watched: Map<string, Watched>; close: () => void }> {
  const host = o.host ?? DEFAULT_HOST;
  const loopback = isLoopback(host);
  const sampleMs = o.sampleMs ?? 1000;
  const watched = new Map<string, Watched>();
  for (const m of o.migrations) {
    const watch = new MigrationWatch(m.ctx, {
      ...(o.history === undefined ? {} : { history: o.history }),
      ...(m.sources ? { sources: m.sources } : {}),
      valueCapture: o.valueCapture ?? false,
    });
    watched.set(watch.name, { ctx: m.ctx, watch });
  }
  await Promise.all([...watched.values()].map(async (w) => w.watch.tick()));
  const closing = new AbortController();
  const app = dashboardApp(watched, {
    token: o.token,
    controls: o.controls ?? true,
    readsNeedToken: !loopback,
    loopbackHostsOnly: loopback,
    valueCapture: o.valueCapture ?? false,
    sampleMs,
    actor: o.actor,
    closing: closing.signal,
    ...(o.pageDir === undefined ? {} : { pageDir: o.pageDir }),
  });
  return {
    app,
    watched,
    close: () => {
      closing.abort();
      for (const w of watched.values()) w.watch.close();
    },
  };
}

/**
 * Serves the dashboard of `migrations`: samples each every `sampleMs`, and
 * listens on `host:port`. Resolves once it listens.
 */
export async function startDashboard(o: DashboardOptions): Promise<DashboardServer> {
  const host = o.host ?? DEFAULT_HOST;
  const d = await dashboard(o);
  for (const w of d.watched.values()) w.watch.start(o.sampleMs ?? 1000);
  const server = serve({ fetch: d.app.fetch, hostname: host, port: o.port ?? DEFAULT_PORT });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (err) {
    d.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new MidairError(
      'CONFIG',
      code === 'EADDRINUSE'
        ? `port ${o.port ?? DEFAULT_PORT} on ${host} is taken: pick another with --port`
        : `the dashboard could not listen on ${host}:${o.port ?? DEFAULT_PORT} (${code ?? 'error'})`,
      { cause: err },
    );
  }
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    app: d.app,
    close: async () => {
      d.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}
