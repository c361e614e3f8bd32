import { Hono, type Context } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { CliContext } from '../cli/context.js';
import { MidairError } from '../core/errors.js';
import { API_BASE, type ApiError, type ControlResult, type DashboardInfo } from './api-types.js';
import { loopbackHostsOnly, requireToken } from './auth.js';
import { CONTROLS, ConfirmationNeeded, runControl, type ControlName } from './controls.js';
import { feed } from './sse.js';
import { servePage } from './static.js';
import type { MigrationWatch } from './watch.js';

/** One migration the dashboard serves: the context the controls run on, and its sampler. */
export interface Watched {
  readonly ctx: CliContext;
  readonly watch: MigrationWatch;
}

export interface AppOptions {
  readonly token: string;
  /** False: the dashboard only watches; every control is refused (the demo's script moves its migration). */
  readonly controls: boolean;
  /** Off loopback every route needs the token, reads included. */
  readonly readsNeedToken: boolean;
  /** On a loopback bind: answer only requests addressed to a loopback name. */
  readonly loopbackHostsOnly: boolean;
  readonly valueCapture: boolean;
  readonly sampleMs: number;
  /** Who the audit log names for the controls. */
  readonly actor: string;
  /** Where the built page is (default: the package's build). */
  readonly pageDir?: string;
  /** Aborted when the server closes: the live feeds end. */
  readonly closing: AbortSignal;
}

const STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  INVALID_ARGUMENT: 400,
  CONFIG: 400,
  INVALID_VALUE: 400,
  BLOCKED: 409,
  CONFLICT: 409,
  FENCED: 409,
  TIMEOUT: 504,
};

/** An error as JSON: its code and message (midair's messages name keys and counts, never values). */
function errorResponse(c: Context, err: unknown): Response {
  const code = err instanceof MidairError ? err.code : 'UNKNOWN';
  const message = err instanceof Error ? err.message : String(err);
  const body: ApiError = {
    error: { code, message, ...(err instanceof ConfirmationNeeded ? { confirm: err.question } : {}) },
  };
  return c.json(body, STATUS[code] ?? 500);
}

const notFound = (c: Context, what: string): Response =>
  c.json({ error: { code: 'NOT_FOUND', message: what } } satisfies ApiError, 404);

/** JSON with every bigint as a string (keys may be bigints). */
const json = (c: Context, value: unknown, status: ContentfulStatusCode = 200): Response =>
  c.body(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
    status,
    {
      'Content-Type': 'application/json; charset=utf-8',
    },
  );

/**
 * The dashboard's routes: the JSON API and the live feeds under
 * {@link API_BASE}, and the page. Controls need the token; reads need it
 * too off loopback. No route sets or reads a cookie.
 */
export function dashboardApp(watched: ReadonlyMap<string, Watched>, o: AppOptions): Hono {
  const app = new Hono();
  if (o.loopbackHostsOnly) app.use('*', loopbackHostsOnly());
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );
  const auth = requireToken(o.token);
  app.use(`${API_BASE}/*`, async (c, next) => {
    c.header('Cache-Control', 'no-store');
    await next();
  });
  if (o.readsNeedToken) app.use(`${API_BASE}/*`, auth);
  app.onError((err, c) => errorResponse(c, err));

  const find = (c: Context): Watched | undefined => watched.get(c.req.param('name') ?? '');
  const unknown = (c: Context): Response =>
    notFound(c, `no migration "${c.req.param('name')}" here; this dashboard serves ${[...watched.keys()].join(', ')}`);

  app.get(API_BASE, (c) => {
    const info: DashboardInfo = {
      migrations: [...watched.values()].map((w) => ({ name: w.watch.name, phase: w.watch.view?.phase ?? null })),
      controls: o.controls,
      readsNeedToken: o.readsNeedToken,
      valueCapture: o.valueCapture,
      sampleMs: o.sampleMs,
    };
    return c.json(info);
  });
  app.get(`${API_BASE}/migrations/:name`, async (c) => {
    const w = find(c);
    if (!w) return unknown(c);
    const view = await w.watch.current();
    if (!view) {
      const why = w.watch.error;
      const message = `migration ${w.watch.name} could not be read yet${why ? `: ${why.message}` : ''}`;
      return c.json({ error: { code: why?.code ?? 'UNKNOWN', message } } satisfies ApiError, 503);
    }
    return json(c, view);
  });
  app.get(`${API_BASE}/migrations/:name/samples`, (c) => {
    const w = find(c);
    return w ? json(c, { samples: w.watch.samples() }) : unknown(c);
  });
  app.get(`${API_BASE}/migrations/:name/events`, async (c) => {
    const w = find(c);
    if (!w) return unknown(c);
    await w.watch.current();
    return feed(c, w.watch, o.closing);
  });

  // One control at a time per migration, each through the command line's own function.
  const queue = new Map<string, Promise<unknown>>();
  app.post(`${API_BASE}/migrations/:name/:control`, auth, async (c) => {
    const w = find(c);
    if (!w) return unknown(c);
    const control = c.req.param('control') as ControlName;
    if (!CONTROLS.includes(control))
      return notFound(c, `no control "${control}": the controls are ${CONTROLS.join(', ')}`);
    if (!o.controls)
      return c.json(
        {
          error: {
            code: 'NOT_SUPPORTED',
            message: 'this dashboard only watches (its migration is moved by a script); nothing changed',
          },
        } satisfies ApiError,
        403,
      );
    const body: unknown = await c.req.json().catch(() => {
      throw new MidairError('INVALID_ARGUMENT', `${control}: the body must be a JSON object`);
    });
    const before = queue.get(w.watch.name) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(async () => runControl(w.ctx, control, body, o.actor));
    queue.set(w.watch.name, run);
    const done = await run;
    await w.watch.tick();
    const view = w.watch.view;
    if (!view) throw new MidairError('CONNECTION', `migration ${w.watch.name} could not be read after ${control}`);
    return json(c, { ...done, view } satisfies ControlResult);
  });

  servePage(app, o.pageDir);
  return app;
}
