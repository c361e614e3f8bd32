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

describe('adoption 7: the operator’s commands', () => {
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
    expect(all.map((e) => e.reason.replace(/ \[forced past: .*\]$/, ''))).toEqual([
      'three',
      'two',
      'one',
      'start',
      'migration created',
    ]);
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

  it('a running verification is paused, resumed and re-rated from the command line apart from the backfill', async () => {
    const dir = await started();
    expect((await midair(dir, ['verify', 'rate', '900', '--json'])).json()).toEqual({ maxRowsPerSecond: 900 });
    const paused = await midair(dir, ['verify', 'pause']);
    expect(paused.stdout).toContain('users: verification paused');
    expect((await midair(dir, ['backfill', 'pause', '--json'])).json()).toEqual({ paused: true });
    expect((await midair(dir, ['verify', 'resume', '--json'])).json()).toEqual({
      maxRowsPerSecond: 900,
      paused: false,
    });
    const run = await midair(dir, ['verify', '--json']); // the run itself still answers to `midair verify`
    expect(run.json()).toMatchObject({ mode: 'full', status: 'different' });
  });
});

describe('adoption 6: the CLI and a migration no application follows', () => {
  it('regression: with 0 live instances the fleet gate passed and the CLI moved the phase; status warns, and advance is refused unless forced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-no-fleet-'));
    dirs.push(dir);
    writeSqliteUsers(dir, (old) => {
      old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    });
    const status = await midair(dir, ['status']);
    expect(status.stdout).toMatch(/warning +no live instance of the application follows migration users/);
    const refused = await midair(dir, ['phase', 'advance', '--reason', 'start dual writes']);
    expect(refused.code).not.toBe(0);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/fleet.*no live instance of the application follows/s);
    const after = await midair(dir, ['status', '--json']);
    expect(after.json()).toMatchObject({ phase: 'old-only' });
    expect((await midair(dir, ['phase', 'advance', '--reason', 'nothing uses it yet', '--force'])).code).toBe(0);
  });
});

describe('adoption 7: migrations in the control store', () => {
  it('regression: migrations in the control store could be neither listed nor removed; list shows them, remove is guarded by phase, reason and --yes', async () => {
    const dir = await started(); // in dual-write
    const list = await midair(dir, ['migrations', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(list.json()).toMatchObject({
      migrations: [{ migration: 'users', phase: 'dual-write', inConfig: true, instances: 0 }],
    });
    const inDualWrite = await midair(dir, ['migrations', 'remove', 'users', '--reason', 'done', '--yes']);
    expect(inDualWrite.code).toBe(2);
    expect(inDualWrite.stderr).toMatch(/it is in dual-write.*nothing was removed/);
    expect((await midair(dir, ['phase', 'rollback', '--reason', 'not now'])).code).toBe(0);
    const unconfirmed = await midair(dir, ['migrations', 'remove', 'users', '--reason', 'abandoned']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/pass --yes to confirm; nothing was removed/);
    const blank = await midair(dir, ['migrations', 'remove', 'users', '--reason', '   ', '--yes']);
    expect(blank.code).toBe(2);
    expect((await midair(dir, ['migrations', 'list', '--json'])).json()).toMatchObject({
      migrations: [{ migration: 'users', phase: 'old-only' }],
    });
    const removed = await midair(dir, ['migrations', 'remove', 'users', '--reason', 'abandoned', '--yes']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/removed users \(old-only, version \d+\) from the control store/);
    expect((await midair(dir, ['migrations', 'list', '--json'])).json()).toEqual({ migrations: [] });
    expect((await midair(dir, ['migrations', 'remove', 'nope', '--reason', 'x', '--yes'])).code).toBe(2);
  });
});
