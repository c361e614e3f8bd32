import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The packed tarball, installed into small projects the way an application takes midair in: ESM, CommonJS
// TypeScript (both module resolutions an application may use) and jest. Each runs a write through midair.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const JEST = join(ROOT, 'node_modules/jest/bin/jest.js');
/** What the projects take from this checkout: midair's own dependencies, and the tools and peers an application brings. */
const SHARED = ['zod', 'lossless-json', 'typescript', '@types/node', 'prom-client', '@opentelemetry/api'];

/** A write and a read through midair, as each project's own code does it (`load` is how it takes the package). */
const body = `
interface User { id: number; name: string }
async function main(): Promise<void> {
  const migration = defineMigration<number, User>({
    name: 'users',
    old: memoryStore<number, User>({ key: 'id' }),
    new: memoryStore<number, User>({ key: 'id' }),
    control: memoryControlStore(),
  });
  await migration.start();
  const repo = migration.repository();
  await repo.put({ id: 1, name: 'Ada' });
  const read: User | undefined = await repo.get(1);
  console.log(JSON.stringify({ read, order: compareKeys(1, 2), phase: migration.state.phase }));
  await migration.close();
}
void main();
`;
const EXPECTED = { read: { id: 1, name: 'Ada' }, order: -1, phase: 'old-only' };

let dir: string;

function run(cmd: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

function ok(r: SpawnSyncReturns<string>): string {
  expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
  return r.stdout;
}

function project(name: string, files: Record<string, string>): string {
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(at, file), text);
  return at;
}

const lastJson = (out: string): unknown => JSON.parse(out.trim().split('\n').at(-1) ?? '');

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/cjs/index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  dir = mkdtempSync(join(tmpdir(), 'midair-install-'));
  // npm pack without scripts: `npm test` built dist/ already, and packing must not rebuild it.
  const packed = ok(run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT));
  const tarball = join(dir, packed.trim().split('\n').at(-1) ?? '');
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  ok(run('tar', ['-xzf', tarball, '-C', dir], dir));
  cpSync(join(dir, 'package'), join(modules, 'midair'), { recursive: true });
  rmSync(join(dir, 'package'), { recursive: true, force: true });
  for (const name of SHARED) {
    mkdirSync(join(modules, name, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('adoption 1: the packed package in an application', () => {
  it('holds what an application needs and nothing of the repository', () => {
    const files = run('tar', ['-tzf', join(dir, 'midair-0.1.0.tgz')], dir).stdout;
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/cjs/index.js');
    expect(files).toContain('package/dist/cjs/package.json');
    // The dashboard's built page and the charts the demo's report inlines (npm run build makes them).
    expect(files).toContain('package/dist/dashboard/web/index.html');
    expect(files).toMatch(/package\/dist\/dashboard\/web\/assets\/index-[\w-]+\.js/);
    expect(files).toContain('package/dist/dashboard/report/charts.js');
    expect(files).not.toContain('package/web/');
    expect(files).not.toContain('package/src/');
    expect(files).not.toContain('package/test/');
  });

  it('regression: it could not be loaded from CommonJS (`require` failed with ERR_PACKAGE_PATH_NOT_EXPORTED); an ES module imports it, and CommonJS requires it', () => {
    const esm = project('esm', {
      'package.json': '{ "type": "module" }',
      'app.mjs': `import { compareKeys } from 'midair/adapter';\nimport { defineMigration, memoryControlStore, memoryStore } from 'midair';\n${body.replace(/: Promise<void>|<number, User>|: User \| undefined|interface User .*\n/g, '')}`,
    });
    expect(lastJson(ok(run(process.execPath, ['app.mjs'], esm)))).toEqual(EXPECTED);
    const cjs = project('cjs', {
      'package.json': '{ "type": "commonjs" }',
      'app.js': `const { compareKeys } = require('midair/adapter');\nconst { defineMigration, memoryControlStore, memoryStore } = require('midair');\n${body.replace(/: Promise<void>|<number, User>|: User \| undefined|interface User .*\n/g, '')}`,
    });
    expect(lastJson(ok(run(process.execPath, ['app.js'], cjs)))).toEqual(EXPECTED);
  });

  it.each([
    ['node10', 'commonjs', 'node10'],
    ['node16', 'node16', 'node16'],
  ])(
    'regression: TypeScript compiled to CommonJS found no types (moduleResolution %s); it compiles under --strict and runs',
    (name, module, resolution) => {
      const at = project(`ts-${name}`, {
        'package.json': '{ "type": "commonjs" }',
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution: resolution,
            target: 'ES2022',
            strict: true,
            outDir: 'out',
            types: ['node'],
            ...(resolution === 'node10' ? { ignoreDeprecations: '6.0' } : {}),
          },
          files: ['app.ts'],
        }),
        'app.ts': `import { compareKeys } from 'midair/adapter';\nimport { defineMigration, memoryControlStore, memoryStore } from 'midair';\nimport type { PostgresDriverOptions } from 'midair/postgres';\nexport type Options = PostgresDriverOptions;\n${body}`,
      });
      ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], at));
      expect(lastJson(ok(run(process.execPath, ['out/app.js'], at)))).toEqual(EXPECTED);
    },
  );

  it('the metrics entries load from an ES module, CommonJS and TypeScript (node10 resolution), and a scrape counts the write', () => {
    const app = (load: string): string => `${load}
const registry = new Registry();
const migration = defineMigration({
  name: 'users',
  old: memoryStore({ key: 'id' }),
  new: memoryStore({ key: 'id' }),
  control: memoryControlStore(),
  metrics: [prometheusMetrics({ registry }), openTelemetryMetrics({ meter: metrics.getMeter('app') })],
});
migration.start().then(async () => {
  await migration.repository().put({ id: 1, name: 'Ada' });
  const text = await registry.metrics();
  console.log(JSON.stringify({ line: text.split('\\n').find((l) => l.startsWith('midair_store_calls_total{')) }));
  await migration.close();
});
`;
    const expected = { line: 'midair_store_calls_total{migration="users",side="old",op="put",result="ok"} 1' };
    const esm = project('metrics-esm', {
      'package.json': '{ "type": "module" }',
      'app.mjs': app(`import { Registry } from 'prom-client';
import { metrics } from '@opentelemetry/api';
import { defineMigration, memoryControlStore, memoryStore } from 'midair';
import { prometheusMetrics } from 'midair/prometheus';
import { openTelemetryMetrics } from 'midair/opentelemetry';`),
    });
    expect(lastJson(ok(run(process.execPath, ['app.mjs'], esm)))).toEqual(expected);
    const cjs = project('metrics-cjs', {
      'package.json': '{ "type": "commonjs" }',
      'app.js': app(`const { Registry } = require('prom-client');
const { metrics } = require('@opentelemetry/api');
const { defineMigration, memoryControlStore, memoryStore } = require('midair');
const { prometheusMetrics } = require('midair/prometheus');
const { openTelemetryMetrics } = require('midair/opentelemetry');`),
    });
    expect(lastJson(ok(run(process.execPath, ['app.js'], cjs)))).toEqual(expected);
    const ts = project('metrics-ts', {
      'package.json': '{ "type": "commonjs" }',
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          moduleResolution: 'node10',
          ignoreDeprecations: '6.0',
          target: 'ES2022',
          strict: true,
          outDir: 'out',
          types: ['node'],
        },
        files: ['app.ts'],
      }),
      'app.ts': app(`import { Registry } from 'prom-client';
import { metrics } from '@opentelemetry/api';
import { defineMigration, memoryControlStore, memoryStore } from 'midair';
import { prometheusMetrics, type PrometheusMetricsOptions } from 'midair/prometheus';
import { openTelemetryMetrics } from 'midair/opentelemetry';
export type Options = PrometheusMetricsOptions;`).replace(
        /memoryStore\(/g,
        'memoryStore<number, { id: number; name: string }>(',
      ),
    });
    ok(run(process.execPath, [TSC, '-p', 'tsconfig.json'], ts));
    expect(lastJson(ok(run(process.execPath, ['out/app.js'], ts)))).toEqual(expected);
  });

  it('regression: under jest the migrated path could not be exercised; a jest test requires midair and writes through it', () => {
    const at = project('jest', {
      'package.json': '{ "type": "commonjs", "jest": { "testEnvironment": "node" } }',
      'app.test.js': `const { compareKeys } = require('midair/adapter');
const { defineMigration, memoryControlStore, memoryStore } = require('midair');
test('a write through midair', async () => {
  const migration = defineMigration({ name: 'users', old: memoryStore({ key: 'id' }), new: memoryStore({ key: 'id' }), control: memoryControlStore() });
  await migration.start();
  await migration.repository().put({ id: 1, name: 'Ada' });
  expect(await migration.repository().get(1)).toEqual({ id: 1, name: 'Ada' });
  expect(compareKeys(1, 2)).toBe(-1);
  await migration.close();
});
`,
    });
    const r = run(process.execPath, [JEST, '--ci', '--rootDir', at], at);
    expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
    expect(r.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
  });
});
