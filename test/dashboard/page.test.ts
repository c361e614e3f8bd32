import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiError, MigrationView } from '../../src/dashboard/api-types.js';
import { startDashboard, type DashboardServer } from '../../src/dashboard/server.js';
import { ARTIFACTS, chromiumAvailable, openBrowser } from '../support/browser.js';
import { liveMigration, type Live } from './live.js';

// The page as an operator uses it: the built page (npm run build), served by the dashboard against a live migration
// (its application in a process of its own), in headless Chromium.
const TOKEN = 'page-test-token-0123456789abcdef';
const available = chromiumAvailable();

let live: Live;
let server: DashboardServer;
let browser: Awaited<ReturnType<typeof openBrowser>>;

beforeAll(async () => {
  if (!available) return;
  live = await liveMigration();
  server = await startDashboard({
    migrations: [{ ctx: live.ctx }],
    token: TOKEN,
    actor: 'tester@host via dashboard',
    port: 0,
  });
  browser = await openBrowser();
});

afterAll(async () => {
  if (!available) return;
  await browser.close();
  await server.close();
  await live.close();
});

/** A fresh tab on the dashboard, recording every script error the page meets. */
async function tab(path: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${server.url}${path}`);
  await page.locator('#phase-name').waitFor();
  return { page, errors };
}

const text = async (page: Page, selector: string): Promise<string> =>
  (await page.locator(selector).first().textContent()) ?? '';

/** Waits until the element's text is `want` (the page redraws from its live feed). */
async function untilText(page: Page, selector: string, want: string): Promise<void> {
  // Runs in the page (a function, not a string: the page's policy allows no eval).
  const inPage = ([sel, w]: readonly [string, string]): boolean =>
    (
      globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }
    ).document.querySelector(sel)?.textContent === w;
  await page.waitForFunction(inPage, [selector, want] as const);
}

async function written(): Promise<{ version: number | undefined; audit: number }> {
  return {
    version: (await live.ctx.control.getState('users'))?.version,
    audit: (await live.ctx.control.auditLog('users')).length,
  };
}

describe.skipIf(!available)('the dashboard page in Chromium', () => {
  it('shows the live migration, and advance with a reason changes the phase and adds the audit entry', async () => {
    const { page, errors } = await tab(`#token=${TOKEN}`);
    expect(page.url()).not.toContain('token='); // the token left the address bar (kept for this tab only)
    expect(await text(page, '#phase-name')).toBe('old-only');
    expect(await text(page, '.timeline li.current')).toContain('old-only');
    await page.locator('#gates li[data-gate="fleet"][data-ok="true"]').waitFor();
    expect(await text(page, '#fleet table')).toContain('app-1');
    await page.locator('#chart-shadow canvas').first().waitFor(); // the charts are drawn
    const view = (await (await fetch(`${server.url}api/v1/migrations/users`)).json()) as MigrationView;
    if (view.capacity === null) expect(await text(page, '#capacity-none')).toContain('no figures yet');

    expect(await text(page, '#advance')).toBe('Advance to dual-write');
    await page.click('#advance');
    await page.locator('#control-dialog[open]').waitFor();
    expect(await text(page, '#dialog-title')).toBe('Advance to dual-write');
    expect(await page.locator('#dialog-question').isVisible()).toBe(false); // entering dual-write asks no confirmation
    await page.fill('#dialog-reason', 'browser: start dual writes');
    await page.click('#dialog-ok');

    await untilText(page, '#phase-name', 'dual-write');
    expect(await text(page, '#control-result')).toBe('users: old-only → dual-write (version 2)');
    await page.locator('#audit td', { hasText: 'browser: start dual writes' }).waitFor();
    expect(await text(page, '#audit tbody tr')).toContain('tester@host via dashboard');
    await page.locator('#feed-log li', { hasText: 'phase old-only → dual-write' }).waitFor();
    const state = await live.ctx.control.getState('users');
    expect(state?.phase).toBe('dual-write');
    expect((await live.ctx.control.auditLog('users', { limit: 1 }))[0]).toMatchObject({
      action: 'advance',
      actor: 'tester@host via dashboard',
      reason: 'browser: start dual writes',
    });
    // The next gate blocks (no backfill yet): the checklist says what blocks.
    await page.locator('#gates li[data-gate="backfill"][data-ok="false"]').waitFor();
    expect(await text(page, '#gates li[data-gate="backfill"]')).toContain('no backfill yet');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(errors, errors.join('\n')).toEqual([]);
    await page.close();
  });

  it('without the token the page offers no control, and the server refuses a control sent without it, writing nothing', async () => {
    const { page, errors } = await tab(''); // a new tab: no token
    await untilText(page, '#phase-name', 'dual-write');
    expect(await page.locator('#advance').isDisabled()).toBe(true);
    expect(await text(page, '#controls-note')).toContain('need the dashboard token');
    const before = await written();
    const refused = await page.evaluate(async () => {
      const r = await fetch('/api/v1/migrations/users/advance', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'no token', force: true }),
      });
      return { status: r.status, body: (await r.json()) as ApiError };
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('UNAUTHORIZED');
    expect(await written()).toEqual(before);
    // The browser reports the refusal it was sent; nothing else went wrong.
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
    await page.close();
  });

  it('a step the command confirms asks the same in the page: nothing is sent until "yes" is typed', async () => {
    // Up to ramp through the API, forced (no backfill in this test), as an operator with the token would.
    for (const body of [
      { reason: 'test', force: true },
      { reason: 'test', force: true, ramp: 20 },
    ]) {
      const r = await fetch(`${server.url}api/v1/migrations/users/advance`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
    }
    const { page, errors } = await tab(`#token=${TOKEN}`);
    await untilText(page, '#phase-name', 'ramp 20 %');
    await page.click('#advance');
    await page.locator('#control-dialog[open]').waitFor();
    expect(await text(page, '#dialog-question')).toBe(
      'Entering new-primary makes new authoritative: this is the point of no return without a re-sync of old.',
    );
    await page.check('#dialog-force'); // its gates block: forced, which needs a reason
    expect(await page.locator('#dialog-ok').isDisabled()).toBe(true);
    await page.fill('#dialog-reason', 'browser: cut over');
    expect(await page.locator('#dialog-ok').isDisabled()).toBe(true); // not confirmed yet
    const before = await written();
    await page.fill('#dialog-yes', 'yes');
    expect(await page.locator('#dialog-ok').isDisabled()).toBe(false);
    expect(await written()).toEqual(before);
    await page.click('#dialog-ok');
    await untilText(page, '#phase-name', 'new-primary');
    expect(await text(page, '#control-result')).toMatch(
      /^users: ramp → new-primary \(version \d+\) — forced, recorded in the audit log$/,
    );
    expect((await live.ctx.control.auditLog('users', { limit: 1 }))[0]).toMatchObject({
      action: 'advance',
      reason: expect.stringContaining('browser: cut over') as string,
      forced: true,
    });
    expect(errors, errors.join('\n')).toEqual([]);
    await page.close();
  });
});
