import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { midair, writeSqliteUsers } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A users migration on SQLite files, moved into dual-write. */
async function started(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-ops-cmd-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    for (let i = 1; i <= 5; i++)
      old.prepare('INSERT INTO users VALUES (?, ?, ?)').run(i, `u${i}@example.com`, `u ${i}`);
  });
  expect((await midair(dir, ['phase', 'advance', '--reason', 'start', '--force'])).code).toBe(0);
  return dir;
}

const VERSION = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as {
    version: string;
  }
).version;

describe('the operator’s commands', () => {
  it('regression: there was no --version, and a sub-command’s --help showed neither the global options nor the exit codes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-help-'));
    dirs.push(dir);
    const v = await midair(dir, ['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(VERSION);
    const help = await midair(dir, ['backfill', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Global Options:');
    expect(help.stdout).toContain('--actor <name>');
    expect(help.stdout).toMatch(/Exit codes: 0 done; 1 .*; 2 .*; 3 /);
    expect(help.stdout).toContain('pause');
  });

  it('regression: usage errors ignored --json; they answer a JSON error and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-usage-json-'));
    dirs.push(dir);
    const r = await midair(dir, ['phase', 'advance', '--no-such-option', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    expect(r.json()).toEqual({ error: { code: 'USAGE', message: "unknown option '--no-such-option'" } });
  });

  it('regression: strict mode could not be switched from the command line; strict on|off is audited under --actor, and refused without a reason', async () => {
    const dir = await started();
    const refused = await midair(dir, ['strict', 'on']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('strict on needs --reason');
    const on = await midair(dir, ['strict', 'on', '--reason', 'cutover week', '--actor', 'ops@example.com', '--json']);
    expect(on.code).toBe(0);
    expect(on.json()).toMatchObject({ strict: true, phase: 'dual-write' });
    expect((await midair(dir, ['strict', 'off', '--reason', 'done'])).code).toBe(0);
    const audit = await midair(dir, ['audit', '--json']);
    expect(audit.code).toBe(0);
    const entries = audit.json<{ entries: { action: string; actor: string; reason: string; to: string }[] }>().entries;
    expect(entries.map((e) => e.action).slice(0, 2)).toEqual(['strict', 'strict']);
    expect(entries[1]).toMatchObject({ actor: 'ops@example.com', reason: 'cutover week', to: 'dual-write (strict)' });
    expect(entries[0]?.to).toBe('dual-write');
  });

  it('regression: the audit log showed only the 5 entries status prints; audit reads it all, with --since and --limit', async () => {
    const dir = await started();
    for (const reason of ['one', 'two', 'three'])
      expect((await midair(dir, ['strict', 'on', '--reason', reason])).code).toBe(0);
    const all = (await midair(dir, ['audit', '--json'])).json<{ entries: { reason: string }[] }>().entries;
    expect(all.map((e) => e.reason)).toEqual(['three', 'two', 'one', 'start', 'migration created']);
    const two = (await midair(dir, ['audit', '--limit', '2', '--json'])).json<{ entries: unknown[] }>().entries;
    expect(two).toHaveLength(2);
    const future = (await midair(dir, ['audit', '--since', '2999-01-01', '--json'])).json<{ entries: unknown[] }>();
    expect(future.entries).toEqual([]);
    const recent = (await midair(dir, ['audit', '--since', '1h', '--json'])).json<{ entries: unknown[] }>();
    expect(recent.entries).toHaveLength(5);
    const text = await midair(dir, ['audit']);
    expect(text.stdout).toContain('strict  dual-write → dual-write (strict): one');
    const bad = await midair(dir, ['audit', '--since', 'yesterday-ish']);
    expect(bad.code).toBe(2);
  });

  it('regression: a running backfill could not be paused, resumed or re-rated from the command line; each keeps the other setting', async () => {
    const dir = await started();
    expect((await midair(dir, ['backfill', 'rate', '400', '--json'])).json()).toEqual({ maxRowsPerSecond: 400 });
    expect((await midair(dir, ['backfill', 'pause', '--json'])).json()).toEqual({
      maxRowsPerSecond: 400,
      paused: true,
    });
    expect((await midair(dir, ['backfill', 'resume', '--json'])).json()).toEqual({
      maxRowsPerSecond: 400,
      paused: false,
    });
    const bad = await midair(dir, ['backfill', 'rate', 'fast']);
    expect(bad.code).toBe(2);
    // The run itself still answers to `midair backfill`.
    const run = await midair(dir, ['backfill', '--json']);
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ status: 'complete', rowsRead: 5 });
  });
});
