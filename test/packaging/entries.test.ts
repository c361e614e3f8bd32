import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The built package (`npm test` builds before the suites run), imported the way an application does: in a fresh Node process.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, 'dist');

/** The packages only the command line needs (optional peers of midair). */
const CLI_PACKAGES = ['commander', 'cli-progress', 'picocolors', 'uplot', 'jiti', 'hono', '@hono/node-server'];

// Hooks that record every URL the ES module loader resolves, in the process that imports an entry.
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export async function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(log, result.url + '\\n');
  return result;
}
`;
const REGISTER = `import { register } from 'node:module';
register(new URL('./hooks.mjs', import.meta.url), { data: { log: process.env.MIDAIR_LOAD_LOG } });
`;

let dir: string;

beforeAll(() => {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'midair-entries-'));
  writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir, 'register.mjs'), REGISTER);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Imports `entry` (a file of dist/) in a fresh Node process; the URLs its module graph resolved. */
function loadedBy(entry: string): string[] {
  const log = join(dir, `${entry.replace(/\W/g, '_')}.log`);
  writeFileSync(log, '');
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      join(dir, 'register.mjs'),
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(join(DIST, entry))});`,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, MIDAIR_LOAD_LOG: log },
      encoding: 'utf8',
    },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

const packagesIn = (urls: readonly string[]): string[] =>
  CLI_PACKAGES.filter((name) => urls.some((u) => u.includes(`/node_modules/${name}/`)));

describe('the entry points', () => {
  it('the root import, the adapter entry and the engine entries load none of the command line’s packages', () => {
    for (const entry of [
      'index.js',
      'adapter.js',
      'postgres/index.js',
      'mysql/index.js',
      'sqlite/index.js',
      'redis/index.js',
    ]) {
      const urls = loadedBy(entry);
      // The recording sees the entry and the library's own dependency: an empty log would prove nothing.
      expect(urls.some((u) => u.endsWith(`/dist/${entry}`))).toBe(true);
      expect(urls.some((u) => u.includes('/node_modules/lossless-json/'))).toBe(true);
      expect({ entry, loaded: packagesIn(urls) }).toEqual({ entry, loaded: [] });
    }
  });

  it('the metrics libraries load only where asked for: the core loads neither, midair/prometheus loads prom-client, midair/opentelemetry loads nothing of OpenTelemetry (the meter is the application’s)', () => {
    const metricsPackages = (urls: readonly string[]): string[] =>
      ['prom-client', '@opentelemetry/'].filter((name) => urls.some((u) => u.includes(`/node_modules/${name}`)));
    for (const entry of ['index.js', 'adapter.js', 'postgres/index.js'])
      expect({ entry, loaded: metricsPackages(loadedBy(entry)) }).toEqual({ entry, loaded: [] });
    const prometheus = loadedBy('prometheus/index.js');
    expect(metricsPackages(prometheus)).toEqual(['prom-client']);
    expect(packagesIn(prometheus)).toEqual([]);
    const openTelemetry = loadedBy('opentelemetry/index.js');
    expect(openTelemetry.some((u) => u.endsWith('/dist/opentelemetry/index.js'))).toBe(true);
    expect(metricsPackages(openTelemetry)).toEqual([]);
    expect(packagesIn(openTelemetry)).toEqual([]);
  });

  it('the same recording sees them where they belong: the demo loads cli-progress', () => {
    expect(packagesIn(loadedBy('demo/index.js'))).toContain('cli-progress');
  });

  it('the command says which of its packages are missing and how to install them, and exits 2', () => {
    // A copy of the launcher with no node_modules beside it: none of the packages resolves.
    const pkg = join(dir, 'bare');
    mkdirSync(join(pkg, 'dist', 'cli'), { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    for (const file of ['main.js', 'exit-codes.js'])
      copyFileSync(join(DIST, 'cli', file), join(pkg, 'dist', 'cli', file));
    const run = spawnSync(process.execPath, [join(pkg, 'dist', 'cli', 'main.js'), 'status'], {
      cwd: pkg,
      encoding: 'utf8',
    });
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      'the command line needs commander, cli-progress, picocolors, jiti, uplot, hono, @hono/node-server',
    );
    expect(run.stderr).toContain('npm install --save-dev commander@^14.0.3 ');
  });
});
