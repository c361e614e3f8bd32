import { existsSync } from 'node:fs';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Hono } from 'hono';
import { API_BASE } from './api-types.js';
import { PAGE_DIR, pageIndex } from './built.js';

/**
 * The built page (web/dashboard, built by `npm run build`), served as
 * files: `/` is its index.html, `/assets/…` its scripts and styles. A page
 * not built answers, on `/`, how to build it.
 */
export function servePage(app: Hono, dir = PAGE_DIR): void {
  app.get(`${API_BASE}/*`, (c) =>
    c.json({ error: { code: 'NOT_FOUND', message: `no route ${c.req.path} (the API is under ${API_BASE})` } }, 404),
  );
  if (existsSync(pageIndex(dir))) {
    app.use('/*', serveStatic({ root: dir }));
    return;
  }
  app.get('/', (c) =>
    c.text(
      'The dashboard’s page is not built: run `npm run build` (it builds web/dashboard with Vite), then start the dashboard again. The API answers under /api/v1 meanwhile.',
      500,
    ),
  );
}
