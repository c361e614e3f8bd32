import { afterEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import type { ApiError, ControlResult, DashboardInfo, MigrationView, Sample } from '../../src/dashboard/api-types.js';
import { dashboard } from '../../src/dashboard/server.js';
import { inProcessMigration, liveMigration, type InProcess, type Live } from './live.js';

// The API in-process (Hono's app.request), against a real migration: SQLite files, a started application instance,
// and the context `midair dashboard` opens from the config.
const TOKEN = 'a-test-token-of-32-characters-xx';
const open: { live: Live; close: () => void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.close();
    await o.live.close();
  }
});

async function served(o: { host?: string } = {}): Promise<{
  live: Live;
  app: Hono;
  d: Awaited<ReturnType<typeof dashboard>>;
}> {
  const live = await liveMigration();
  const d = await dashboard({
    migrations: [{ ctx: live.ctx }],
    token: TOKEN,
    actor: 'tester@host via dashboard',
    ...(o.host ? { host: o.host } : {}),
  });
  open.push({ live, close: d.close });
  return { live, app: d.app, d };
}

const post = (app: Hono, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  Promise.resolve(
    app.request(`/api/v1/migrations/users/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify(body),
    }),
  );
const view = async (app: Hono): Promise<MigrationView> =>
  (await (await app.request('/api/v1/migrations/users')).json()) as MigrationView;

/** What the control store holds: the state's version and the audit log's length (a refusal changes neither). */
async function written(live: Live): Promise<{ version: number | undefined; audit: number }> {
  return {
    version: (await live.ctx.control.getState('users'))?.version,
    audit: (await live.ctx.control.auditLog('users')).length,
  };
}

describe('the dashboard API', () => {
  it('serves the migrations of the config, and one migration’s view: phase, gates into the next with what blocks, fleet, controls', async () => {
    const { app, d } = await served();
    const info = (await (await app.request('/api/v1')).json()) as DashboardInfo;
    expect(info).toMatchObject({
      migrations: [{ name: 'users', phase: 'old-only' }],
      controls: true,
      readsNeedToken: false,
    });
    await d.watched.get('users')?.watch.tick(); // read now: the application has heartbeat since the first read
    const v = await view(app);
    expect(v).toMatchObject({ migration: 'users', phase: 'old-only', started: true, next: 'dual-write', error: null });
    expect(v.gates).toMatchObject([
      { gate: 'fleet', ok: true, detail: '1 live instance(s) acknowledged phase version 1' },
    ]);
    expect(v.instances).toMatchObject([{ instanceId: 'app-1', acknowledged: true }]);
    expect(v.instances[0]?.lastSeenMsAgo).toBeGreaterThanOrEqual(0);
    expect(v.controls).toEqual({
      advance: { to: 'dual-write', confirm: null, takesRamp: false },
      rollback: null,
      ramp: false,
      strict: true,
      backfill: true,
    });
    // The instance reports its store calls with its heartbeat: none yet, as it served nothing.
    expect(v.capacity).toEqual({
      old: { calls: 0, errors: 0, errorRate: 0, p99Ms: 0 },
      new: { calls: 0, errors: 0, errorRate: 0, p99Ms: 0 },
    });
    const missing = await app.request('/api/v1/migrations/orders');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ApiError).error.message).toContain('serves users');
  });

  it('refuses a control without the token, with a wrong one, or with the token in a cookie — and writes nothing', async () => {
    const { app, live } = await served();
    const before = await written(live);
    for (const headers of <Record<string, string>[]>[
      { Authorization: '' },
      { Authorization: 'Bearer not-the-token-at-all-nope' },
      { Authorization: '', Cookie: `token=${TOKEN}` },
      { Authorization: TOKEN }, // not a bearer header
    ]) {
      const r = await post(app, 'advance', { reason: 'sneaky' }, headers);
      expect(r.status).toBe(401);
      expect(((await r.json()) as ApiError).error.code).toBe('UNAUTHORIZED');
    }
    expect(await written(live)).toEqual(before);
    expect((await view(app)).phase).toBe('old-only');
  });

  it('advance goes through the same command: its gates, its reason, its audit entry under the dashboard’s actor', async () => {
    const { app, live } = await served();
    const r = await post(app, 'advance', { reason: 'start dual writes' });
    expect(r.status).toBe(200);
    const done = (await r.json()) as ControlResult;
    expect(done.message).toBe('users: old-only → dual-write (version 2)');
    expect(done.view).toMatchObject({ phase: 'dual-write', version: 2, next: 'shadow-read' });
    expect(done.view.audit[0]).toMatchObject({
      action: 'advance',
      actor: 'tester@host via dashboard',
      reason: 'start dual writes',
      from: 'old-only',
      to: 'dual-write',
      forced: false,
    });
    expect((await live.ctx.control.getState('users'))?.phase).toBe('dual-write');
    // The next gate blocks (no backfill): refused as the command refuses it, naming what blocks, nothing written.
    const before = await written(live);
    const blocked = await post(app, 'advance', { reason: 'too early' });
    expect(blocked.status).toBe(409);
    const error = ((await blocked.json()) as ApiError).error;
    expect(error.code).toBe('BLOCKED');
    expect(error.message).toContain('backfill');
    expect(await written(live)).toEqual(before);
    // --force needs a reason, as on the command line.
    const noReason = await post(app, 'advance', { force: true });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as ApiError).error.message).toContain('--force needs --reason');
    expect(await written(live)).toEqual(before);
  });

  it('a step the command confirms is refused unless the page confirmed it, with the question to ask', async () => {
    const { app, live } = await served();
    for (const step of [
      { reason: 'go', force: true },
      { reason: 'go', force: true },
      { reason: 'go', force: true, ramp: 50 },
    ])
      expect((await post(app, 'advance', step)).status).toBe(200);
    expect((await view(app)).phase).toBe('ramp');
    const before = await written(live);
    const unconfirmed = await post(app, 'advance', { reason: 'cut over', force: true });
    expect(unconfirmed.status).toBe(400);
    const error = ((await unconfirmed.json()) as ApiError).error;
    expect(error.confirm).toBe(
      'Entering new-primary makes new authoritative: this is the point of no return without a re-sync of old.',
    );
    expect((await view(app)).controls.advance?.confirm).toBe(error.confirm); // the page asks it beforehand
    expect(await written(live)).toEqual(before);
    const confirmed = await post(app, 'advance', { reason: 'cut over', force: true, yes: true });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as ControlResult).view.phase).toBe('new-primary');
  });

  it('ramp set, strict on/off and backfill pause/resume/rate run the commands’ checks and answer what they print', async () => {
    const { app, live } = await served();
    const badRamp = await post(app, 'ramp', { percent: 20 });
    expect(badRamp.status).toBe(400); // outside ramp
    expect((await post(app, 'advance', { reason: 'go' })).status).toBe(200);
    const noReason = await post(app, 'strict', { on: true, reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as ApiError).error.message).toContain('strict on needs --reason');
    const strict = (await (await post(app, 'strict', { on: true, reason: 'cutover week' })).json()) as ControlResult;
    expect(strict.message).toBe('users: strict dual writes on (version 3)');
    expect(strict.view.strict).toBe(true);
    expect(strict.view.audit[0]).toMatchObject({ action: 'strict', reason: 'cutover week', to: 'dual-write (strict)' });
    const paused = (await (await post(app, 'backfill', { action: 'pause' })).json()) as ControlResult;
    expect(paused.message).toBe('users: backfill paused');
    expect(paused.view.backfill.paused).toBe(true);
    const rate = (await (await post(app, 'backfill', { action: 'rate', rowsPerSecond: 500 })).json()) as ControlResult;
    expect(rate.message).toBe('users: backfill ceiling 500 rows/s');
    expect(rate.view.backfill).toMatchObject({ paused: true, maxRowsPerSecond: 500 });
    const resumed = (await (await post(app, 'backfill', { action: 'resume' })).json()) as ControlResult;
    expect(resumed.view.backfill).toMatchObject({ paused: false, maxRowsPerSecond: 500 });
    const before = await written(live);
    for (const [path, body, field] of [
      ['backfill', { action: 'rate' }, 'rowsPerSecond'],
      ['backfill', { action: 'faster' }, 'action'],
      ['advance', { force: 'yes' }, 'force'],
      ['strict', { on: true, reason: 'x', extra: 1 }, 'extra'],
    ] as const) {
      const r = await post(app, path, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(((await r.json()) as ApiError).error.message).toContain(field);
    }
    expect(await written(live)).toEqual(before);
  });

  it('the live feed sends a snapshot, then each sample, and every change of phase, audit log and gates', async () => {
    const { app, d } = await served();
    const res = await app.request('/api/v1/migrations/users/events');
    expect(res.headers.get('Content-Type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const until = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the feed ended before ${String(pattern)}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await until(/event: snapshot\ndata: .*\n\n/);
    const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(text)?.[1] ?? '') as {
      view: MigrationView;
      samples: Sample[];
    };
    expect(snapshot.view.phase).toBe('old-only');
    expect(snapshot.samples).toHaveLength(1);
    expect((await post(app, 'advance', { reason: 'feed test' })).status).toBe(200);
    await until(/event: gates\n[\s\S]*event: sample\n/);
    expect(text).toMatch(
      /event: phase\ndata: \{"from":\{"phase":"old-only","version":1\},"to":\{"phase":"dual-write","version":2/,
    );
    expect(text).toMatch(
      /event: audit\ndata: \{"entries":\[\{"seq":\d+,"at":"[^"]+","actor":"tester@host via dashboard","action":"advance"/,
    );
    expect(text).toMatch(/event: sample\ndata: \{"view":\{"migration":"users"/);
    expect(text).toMatch(/event: gates\ndata: \{"next":"shadow-read","gates":\[\{"gate":"fleet"/);
    d.close(); // the server closes: the feed ends
    for (;;) if ((await reader.read()).done) break;
  });

  it('answers only requests addressed to localhost on a loopback bind; off loopback every route needs the token', async () => {
    const { app } = await served();
    const rebound = await app.request('/api/v1', { headers: { Host: 'attacker.example:7420' } });
    expect(rebound.status).toBe(403);
    expect((await app.request('/api/v1', { headers: { Host: '127.0.0.1:7420' } })).status).toBe(200);
    const wide = await served({ host: '0.0.0.0' });
    expect((await wide.app.request('/api/v1', { headers: { Host: 'dash.example:7420' } })).status).toBe(401);
    const withToken = await wide.app.request('/api/v1', {
      headers: { Host: 'dash.example:7420', Authorization: `Bearer ${TOKEN}` },
    });
    expect(withToken.status).toBe(200);
    expect(((await withToken.json()) as DashboardInfo).readsNeedToken).toBe(true);
  });

  it('never sets a cookie, and sends a content security policy with the page’s own origin only', async () => {
    const { app } = await served();
    const r = await app.request('/api/v1/migrations/users');
    expect(r.headers.get('Set-Cookie')).toBeNull();
    expect(r.headers.get('Cache-Control')).toBe('no-store');
    expect(r.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    expect(r.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
  });
});

describe('row values in the dashboard', () => {
  /** An instance in this process with `shadow.includeValues`, and a dashboard on its stores hearing its mismatches. */
  async function comparing(
    valueCapture: boolean,
  ): Promise<{ live: InProcess; app: Hono; d: Awaited<ReturnType<typeof dashboard>> }> {
    const live = await inProcessMigration({ includeValues: true, recheckMs: 0 });
    const d = await dashboard({
      migrations: [{ ctx: live.ctx, sources: [live.app] }],
      token: TOKEN,
      actor: 'tester',
      valueCapture,
    });
    open.push({ live, close: d.close });
    return { live, app: d.app, d };
  }

  /** A mismatch the application's own shadow read finds (new's row changed behind midair's back). */
  async function mismatch(o: Awaited<ReturnType<typeof comparing>>): Promise<MigrationView> {
    const { live, app, d } = o;
    for (const step of [{ reason: 'go' }, { reason: 'go', force: true }]) {
      const r = await post(app, 'advance', step);
      expect({ status: r.status, body: r.status === 200 ? '' : await r.text() }).toEqual({ status: 200, body: '' });
    }
    await live.app.awaitFleet(); // the application follows the phase (it polls)
    await live.app.repository().put({ id: 1n, email: 'u1@example.com', name: 'user 1' });
    await live.newStore.put({ id: 1n, email: 'u1@example.com', name: 'changed behind midair' });
    await live.app.repository().get(1n);
    const watch = d.watched.get('users')?.watch;
    for (;;) {
      await watch?.tick();
      const v = watch?.view;
      if (v?.shadow.recent && v.shadow.recent.length > 0) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a mismatch heard in this process is listed by key and fields; its values only with value capture enabled', async () => {
    const hidden = await comparing(false);
    const v = await mismatch(hidden);
    expect(v.shadow.recent?.[0]).toMatchObject({ keyId: 'n1', fields: ['name'], phase: 'shadow-read' });
    expect(v.shadow.recent?.[0]).not.toHaveProperty('values');
    const api = await (await hidden.app.request('/api/v1/migrations/users')).text();
    expect(api).not.toContain('changed behind midair');
    const shown = await comparing(true);
    const w = await mismatch(shown);
    expect(
      JSON.stringify(w.shadow.recent?.[0]?.values, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v)),
    ).toContain('changed behind midair');
  });
});
