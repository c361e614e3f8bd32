import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TS_TEMPLATE } from '../../src/cli/commands/init.js';

// Every ```ts block of the README, compiled under `tsc --strict` against the built package as an application
// would import it. A block whose first line is a comment naming a file (`// mappings.ts`) is written under that
// name, so blocks can import one another; the others are fragments of the wrap example and get a prelude that
// declares what they use from it.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** What the README's examples import besides midair. */
const PACKAGES = [
  'pg',
  'bullmq',
  'mysql2',
  'better-sqlite3',
  'pino',
  'prom-client',
  '@types/node',
  '@types/pg',
  '@types/better-sqlite3',
];

const PRELUDE = `import type { Migration } from 'midair';
interface User { id: bigint; email: string; name: string }
declare const migration: Migration<bigint, User>;
declare const fixedTransform: (user: User) => User;
declare const measureLag: () => Promise<number>;
`;

function readmeBlocks(text: string): { file: string; code: string }[] {
  const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  const used = new Set<string>();
  return blocks.map((code, i) => {
    const named = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1];
    let file = named ?? `block${i + 1}.ts`;
    for (let n = 2; used.has(file); n++) file = `${(named ?? 'block').replace(/\.ts$/, '')}.${n}.ts`;
    used.add(file);
    // A fragment of the wrap example: it uses `migration` without declaring it.
    const needsPrelude = /\bmigration\./.test(code) && !/const migration\b/.test(code);
    return { file, code: needsPrelude ? `${PRELUDE}${code}` : code };
  });
}

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('adoption 6: the README', () => {
  it('regression: its config and app examples and the config `midair init` writes did not compile under tsc --strict (TS2322 on SqlMapping<User>); all compile', () => {
    if (!existsSync(join(ROOT, 'dist/index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` first');
    const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    const at = mkdtempSync(join(tmpdir(), 'midair-readme-'));
    dir = at;
    const modules = join(at, 'node_modules');
    mkdirSync(join(modules, '@types'), { recursive: true });
    symlinkSync(ROOT, join(modules, 'midair'));
    for (const name of PACKAGES) symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    writeFileSync(join(at, 'package.json'), '{ "type": "module" }');
    writeFileSync(
      join(at, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          skipLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );
    // The config `midair init` writes, beside them.
    writeFileSync(join(at, 'init.config.ts'), TS_TEMPLATE);
    for (const { file, code } of blocks) {
      mkdirSync(dirname(join(at, file)), { recursive: true });
      writeFileSync(join(at, file), code);
    }
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: at, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('its app example and its config example name the same migration', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const app = [...text.matchAll(/defineMigration\(\{\s*name: '([^']+)'/g)].map((m) => m[1]);
    const config = [...text.matchAll(/migrations: \{\s*(\w+): \{/g)].map((m) => m[1]);
    expect(app.length).toBeGreaterThan(0);
    expect(config.length).toBeGreaterThan(0);
    expect(new Set([...app, ...config])).toEqual(new Set(['users']));
  });
});
