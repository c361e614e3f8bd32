import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { REQUIRE_SERVICES } from './services.js';

/**
 * Headless Chromium for the page tests: the system's (Debian's `chromium`, which CI installs), driven by
 * playwright-core; never a browser a package downloads. A missing one skips the suites that need it, or fails
 * them under MIDAIR_REQUIRE_SERVICES=1.
 */
export const CHROMIUM = process.env.MIDAIR_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether the suites can run; throws when CI requires them and the browser is missing. */
export function chromiumAvailable(): boolean {
  const found = existsSync(CHROMIUM);
  if (!found && REQUIRE_SERVICES)
    throw new Error(`MIDAIR_REQUIRE_SERVICES=1 but there is no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  if (!found) console.log(`[midair] page tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return found;
}

/** A fresh browser with a user-data folder of its own, removed on close. */
export async function openBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'midair-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where tests keep what a person may want to look at afterwards (screenshots): gitignored. */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
