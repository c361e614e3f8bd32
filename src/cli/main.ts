#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { EXIT } from './exit-codes.js';

/**
 * The packages the command line (its config loader, progress bars, the
 * demo's report and the dashboard's server) needs and the library does not:
 * optional peers of `midair`, so an application that only imports the
 * library never installs them.
 */
const CLI_PACKAGES = ['commander', 'cli-progress', 'picocolors', 'jiti', 'uplot', 'hono', '@hono/node-server'] as const;

function installed(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** `name@range` as this package declares it, for the install command. */
function withRange(name: string): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      peerDependencies?: Record<string, string>;
    };
    const range = manifest.peerDependencies?.[name];
    return range ? `${name}@${range}` : name;
  } catch {
    return name;
  }
}

const missing = CLI_PACKAGES.filter((name) => !installed(name));
if (missing.length > 0) {
  process.stderr.write(
    `midair: the command line needs ${missing.join(', ')}, which the library does not install. Install ${missing.length > 1 ? 'them' : 'it'} beside midair:\n` +
      `  npm install --save-dev ${missing.map(withRange).join(' ')}\n`,
  );
  process.exitCode = EXIT.usage;
} else {
  await import('./program.js');
}
