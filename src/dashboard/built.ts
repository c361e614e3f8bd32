import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MidairError } from '../core/errors.js';

// What `npm run build` makes of web/dashboard (docs/decisions/0024). This file sits two folders below the package
// root both in src/ and in dist/, so the same relative path finds the build from either.

/** The dashboard's page: index.html and its assets, served as they are. */
export const PAGE_DIR = fileURLToPath(new URL('../../dist/dashboard/web/', import.meta.url));

/** The charts as one script (uPlot inside) and its stylesheet, for pages that must stand alone (the demo's report). */
export const REPORT_CHARTS = {
  script: fileURLToPath(new URL('../../dist/dashboard/report/charts.js', import.meta.url)),
  style: fileURLToPath(new URL('../../dist/dashboard/report/charts.css', import.meta.url)),
};

/** Throws, saying how to build it, when `file` (a part of the page's build) is missing. */
export function needBuilt(file: string, what: string): string {
  if (!existsSync(file))
    throw new MidairError(
      'CONFIG',
      `${what} is not built (${file} is missing): run \`npm run build\`, which builds web/dashboard with Vite`,
    );
  return file;
}

export const pageIndex = (dir = PAGE_DIR): string => join(dir, 'index.html');
