import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MidairError } from '../../src/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { midair } from './cli-support.js';

const dirs: string[] = [];
const fresh = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'midair-usage-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const users = {
  key: 'id',
  tables: [
    {
      table: 'users',
      columns: {
        id: 'bigint',
        email: 'text:email_address',
        at: { type: 'timestamptz', column: 'created_at', as: 'string' },
      },
    },
  ],
};

describe('config files', () => {
  it('resolves a declarative JSON mapping and environment variables', () => {
    const config = resolveConfig(
      'midair.config.json',
      {
        control: { env: 'CTRL' },
        migrations: { users: { old: { env: 'OLD', mapping: users }, new: { url: 'sqlite:new.db', mapping: users } } },
      },
      { CTRL: 'sqlite:c.db', OLD: 'postgres://u@h/db' },
    );
    const m = config.migrations.get('users');
    expect(config.control).toEqual({ url: 'sqlite:c.db', from: 'control.env CTRL' });
    expect(m?.old.url).toBe('postgres://u@h/db');
    expect(m?.old.mapping.selectFields.map((f) => [f.field, f.column, f.codec.type, f.codec.hashAs])).toEqual([
      ['id', 'id', 'bigint', 'integer'],
      ['email', 'email_address', 'text', 'text'],
      ['at', 'created_at', 'timestamptz', 'instant-us'],
    ]);
  });

  it('names every wrong field and how to fix it', () => {
    const attempt = (raw: unknown, env: NodeJS.ProcessEnv = {}): string => {
      try {
        resolveConfig('midair.config.json', raw, env);
      } catch (err) {
        expect(err).toBeInstanceOf(MidairError);
        expect((err as MidairError).code).toBe('CONFIG');
        return (err as Error).message;
      }
      throw new Error('expected a config error');
    };
    expect(attempt({ migrations: {} })).toMatch(/control: .*sqlite:midair-control.db/);
    expect(attempt({ control: 'sqlite:c.db', migrations: {} })).toMatch(/migrations: migrations is empty/);
    const message = attempt({
      control: 'sqlite:c.db',
      migrations: {
        users: {
          old: { url: 'sqlite:a.db', env: 'X', mapping: users },
          new: {
            url: 'sqlite:b.db',
            mapping: { key: 'id', tables: [{ table: 't', columns: { id: 'bigint', n: 'nmber' } }] },
          },
          gatez: {},
        },
      },
    });
    expect(message).toContain('migrations.users.old: give either url');
    expect(message).toContain(
      'migrations.users.new.mapping.tables.0.columns.n: a column is "<type>" or "<type>:<column>"',
    );
    expect(message).toContain('migrations.users: unknown field gatez');
    expect(
      attempt({
        control: 'sqlite:c.db',
        migrations: { users: { old: { env: 'OLD_URL', mapping: users }, new: { url: 'sqlite:b.db', mapping: users } } },
      }),
    ).toContain('migrations.users.old.env: the environment variable OLD_URL is not set');
    expect(
      attempt({
        control: 'sqlite:c.db',
        migrations: {
          users: {
            old: { url: 'sqlite:a.db', mapping: { key: 'nope', tables: [{ table: 't', columns: { id: 'bigint' } }] } },
            new: { url: 'sqlite:b.db', mapping: users },
          },
        },
      }),
    ).toContain('migrations.users.old.mapping: invalid mapping: table t does not map key field "nope"');
  });
});

describe('the CLI with bad input', () => {
  it('bad config: exit 2, the field named, nothing written', async () => {
    const dir = fresh();
    writeFileSync(
      join(dir, 'midair.config.json'),
      JSON.stringify({
        control: 'sqlite:control.db',
        migrations: {
          users: { old: { url: 'oracle://x', mapping: users }, new: { url: 'sqlite:new.db', mapping: users } },
        },
      }),
    );
    const r = await midair(dir, ['status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('migrations.users.old.url: unsupported URL scheme "oracle"');
    expect(readdirSync(dir)).toEqual(['midair.config.json']);
    const broken = fresh();
    writeFileSync(join(broken, 'midair.config.json'), '{ "control": ');
    const j = await midair(broken, ['status', '--json']);
    expect(j.code).toBe(2);
    expect(j.json()).toMatchObject({ error: { code: 'CONFIG' } });
    expect(j.json<{ error: { message: string } }>().error.message).toContain('not valid JSON');
  });

  it('no config: exit 2 and says to run init; init writes one that loads, and never overwrites it', async () => {
    const dir = fresh();
    const none = await midair(dir, ['status']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('run `midair init`');
    expect((await midair(dir, ['init'])).code).toBe(0);
    expect(existsSync(join(dir, 'midair.config.ts'))).toBe(true);
    const again = await midair(dir, ['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pass --force to overwrite');
    // The scaffold loads; it asks for the variables it names.
    const missing = await midair(dir, ['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('migrations.users.old.env: the environment variable OLD_DATABASE_URL is not set');
  });

  it('a store file that does not exist is an error, not a new empty database', async () => {
    const dir = fresh();
    writeFileSync(
      join(dir, 'midair.config.json'),
      JSON.stringify({
        control: 'sqlite:control.db',
        migrations: {
          users: { old: { url: 'sqlite:missing.db', mapping: users }, new: { url: 'sqlite:new.db', mapping: users } },
        },
      }),
    );
    const r = await midair(dir, ['backfill']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no SQLite database at');
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
    // status reads only: it says which store it cannot reach (exit 1), and creates no file either.
    const s = await midair(dir, ['status', '--json']);
    expect(s.code).toBe(1);
    expect(s.json()).toMatchObject({
      started: false,
      stores: { old: { reachable: false, error: { code: 'CONFIG' } } },
    });
    expect(JSON.stringify(s.json())).toContain('no SQLite database at');
    expect(existsSync(join(dir, 'missing.db'))).toBe(false);
    expect(existsSync(join(dir, 'control.db'))).toBe(false);
  });

  it('a .mjs config loads too, with col and sqlMapping from midair', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'old.db'), '');
    writeFileSync(join(dir, 'new.db'), '');
    writeFileSync(
      join(dir, 'midair.config.mjs'),
      `import { col, sqlMapping } from 'midair';
const m = sqlMapping({ key: 'id', tables: [{ table: 'users', columns: { id: col.bigint('id'), email: col.text('email') } }] });
export default { control: 'sqlite:control.db', migrations: { users: { old: { url: 'sqlite:old.db', mapping: m }, new: { url: 'sqlite:new.db', mapping: m } } } };
`,
    );
    const r = await midair(dir, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ migration: 'users', phase: 'old-only', next: 'dual-write' });
  });

  it('bad arguments: exit 2 with the usage', async () => {
    const dir = fresh();
    for (const args of [
      ['statuz'],
      ['backfill', '--workers', 'zero'],
      ['phase', 'set'],
      ['verify', '--mode', 'quick'],
    ]) {
      const r = await midair(dir, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/error: /);
    }
    expect(readdirSync(dir)).toEqual([]);
    const help = await midair(dir, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 done; 1 done, and what it checked is not clean');
  });
});
