import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MidairError } from '../../src/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { webhookReceiver, type Received, type TestReceiver } from '../support/webhook-receiver.js';
import { midair, writeSqliteUsers } from './cli-support.js';

const SECRET = 'cli-secret-0123456789abcdef';
const dirs: string[] = [];
const receivers: TestReceiver[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** The users migration on SQLite files, its config posting to the receiver whose URL and secret are in the environment. */
async function hookedProject(): Promise<{ dir: string; rx: TestReceiver; env: NodeJS.ProcessEnv }> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-hooks-cli-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
  });
  const path = join(dir, 'midair.config.ts');
  const config = readFileSync(path, 'utf8').replace(
    'verify: { segmentRows: 500 },',
    "verify: { segmentRows: 500 },\n      webhooks: [{ urlEnv: 'MIDAIR_HOOK_URL', secretEnv: 'MIDAIR_HOOK_SECRET' }],",
  );
  writeFileSync(path, config);
  const rx = await webhookReceiver();
  receivers.push(rx);
  return { dir, rx, env: { MIDAIR_HOOK_URL: rx.url, MIDAIR_HOOK_SECRET: SECRET } };
}

const signed = (q: Received): boolean =>
  q.headers['x-midair-signature'] ===
  `sha256=${createHmac('sha256', SECRET)
    .update(`${String(q.headers['x-midair-timestamp'])}.${q.body}`)
    .digest('hex')}`;

describe('webhooks from the command line', () => {
  it('phase advance posts the change before the command exits; a refused advance posts gate-refused', async () => {
    const { dir, rx, env } = await hookedProject();
    const moved = await midair(dir, ['phase', 'advance', '--reason', 'start', '--force', '--actor', 'ops@test'], env);
    expect(moved.code).toBe(0);
    expect(rx.received).toHaveLength(1);
    expect(signed(rx.received[0] as Received)).toBe(true);
    expect(rx.received[0]?.json).toMatchObject({
      type: 'phase-changed',
      migration: 'users',
      to: { phase: 'dual-write' },
      action: 'advance',
      actor: 'ops@test',
      forced: true,
    });
    // No application follows the migration: the fleet gate refuses the next advance, with nothing changed.
    const refused = await midair(dir, ['phase', 'advance', '--reason', 'shadow reads'], env);
    expect(refused.code).toBe(1);
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]?.json).toMatchObject({ type: 'gate-refused', from: 'dual-write', to: 'shadow-read' });
    expect((await midair(dir, ['status', '--json'], env)).json()).toMatchObject({ phase: 'dual-write' });
  });

  it('a receiver that refuses is said on stderr by its origin, never its URL or secret; the command still succeeds', async () => {
    const { dir, rx, env } = await hookedProject();
    rx.script([], 401);
    const r = await midair(dir, ['phase', 'advance', '--reason', 'start', '--force'], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /midair: webhook phase-changed \(delivery [0-9a-f-]+\) to hook 1 \(http:\/\/127\.0\.0\.1:\d+\): the receiver answered 401, on try 1 of 5; not sent again/,
    );
    for (const secret of ['t0ken-in-the-query', '/hooks/midair', SECRET]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
  });

  it('a secret variable that is not set is a CONFIG error naming it, with nothing changed', async () => {
    const { dir, rx, env } = await hookedProject();
    const r = await midair(dir, ['phase', 'advance', '--reason', 'start', '--force', '--json'], {
      MIDAIR_HOOK_URL: env.MIDAIR_HOOK_URL,
    });
    expect(r.code).toBe(2);
    expect(r.json()).toMatchObject({ error: { code: 'CONFIG' } });
    expect(r.json<{ error: { message: string } }>().error.message).toMatch(
      /migrations\.users\.webhooks\[0\]\.secretEnv: the environment variable MIDAIR_HOOK_SECRET is not set/,
    );
    expect(rx.received).toHaveLength(0);
  });
});

describe('webhooks in a config file', () => {
  const mapping = { key: 'id', tables: [{ table: 'users', columns: { id: 'bigint' } }] };
  const withHooks = (webhooks: unknown): unknown => ({
    control: 'sqlite:c.db',
    migrations: { users: { old: { url: 'sqlite:a.db', mapping }, new: { url: 'sqlite:b.db', mapping }, webhooks } },
  });
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

  it('reads the URL and the secret from the file or the environment, with the events', () => {
    const config = resolveConfig(
      'midair.config.json',
      withHooks([
        { url: 'https://ops.example.com/h', secretEnv: 'S', events: ['halted'] },
        { urlEnv: 'U', secret: SECRET },
      ]),
      { S: 'from-env-0123456789abcdef', U: 'http://127.0.0.1:9/x' },
    );
    expect(config.migrations.get('users')?.webhooks).toEqual([
      { url: 'https://ops.example.com/h', secret: 'from-env-0123456789abcdef', events: ['halted'] },
      { url: 'http://127.0.0.1:9/x', secret: SECRET },
    ]);
  });

  it('names the wrong field and how to fix it, never the URL or the secret', () => {
    expect(attempt(withHooks([{ url: 'https://x.example/', secretEnv: 'S', secret: SECRET }]))).toMatch(
      /migrations\.users\.webhooks\.0: give either secretEnv .* or secret, not both/,
    );
    expect(attempt(withHooks([{ url: 'https://x.example/', secret: SECRET, events: ['halt'] }]))).toMatch(
      /migrations\.users\.webhooks\.0\.events\.0: an event is one of phase-changed, halted, gate-refused, verified, repair-parked/,
    );
    const short = attempt(withHooks([{ url: 'https://x.example/t0ken', secretEnv: 'S' }]), { S: 'short-secret' });
    expect(short).toMatch(/migrations\.users\.webhooks\[0\]\.secret must be a string of at least 16 characters/);
    expect(short).not.toContain('short-secret');
    const url = attempt(withHooks([{ url: 'mailto:t0ken@x.example', secret: SECRET }]));
    expect(url).toMatch(/migrations\.users\.webhooks\[0\]\.url is not an http:\/\/ or https:\/\/ URL/);
    expect(url).not.toContain('t0ken');
  });
});
