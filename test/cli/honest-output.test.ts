import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyId } from '../../src/index.js';
import { openSqlite, sqliteControlStore } from '../../src/sqlite/index.js';
import { midair, streaming, writeSqliteUsers, type CliRun } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(rows = 20): string {
  const dir = mkdtempSync(join(tmpdir(), 'midair-honest-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => {
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    const insert = old.prepare('INSERT INTO users VALUES (?, ?, ?)');
    for (let i = 1; i <= rows; i++) insert.run(i, `u${i}@example.com`, `user ${i}`);
  });
  return dir;
}

/** Every row of every table of the three databases (read-only): equal before and after means nothing was written. */
function contents(dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of ['old.db', 'new.db', 'control.db']) {
    const path = join(dir, f);
    if (!existsSync(path)) continue;
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
        name: string;
      }[];
      for (const { name } of tables) out[`${f}/${name}`] = db.prepare(`SELECT * FROM "${name}"`).all();
    } finally {
      db.close();
    }
  }
  return out;
}

/** Runs a command that must be refused: exit 2, the message matching `why`, and nothing written anywhere. */
async function refused(dir: string, args: readonly string[], why: RegExp): Promise<CliRun> {
  const before = contents(dir);
  const r = await midair(dir, args);
  expect({ args, code: r.code }).toEqual({ args, code: 2 });
  expect(r.stderr).toMatch(why);
  expect(contents(dir)).toEqual(before);
  return r;
}

/** No application runs in these tests: advances are forced past the fleet gate (it wants a live instance), and say so. */
const NO_APP = ['--force', '--reason', 'test: no application here'] as const;

async function ok(dir: string, ...args: string[]): Promise<CliRun> {
  const r = await midair(dir, args);
  expect({ args, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ args, code: 0, stderr: '' });
  return r;
}

interface PlanJson {
  phase: string;
  sections: { title: string; items: { item: string; state: string; figure?: string }[] }[];
}

/** `midair plan --format json`: its exit code and the items not done. */
async function plan(dir: string): Promise<{ code: number; phase: string; open: { item: string; state: string }[] }> {
  const r = await midair(dir, ['plan', '--format', 'json']);
  const p = r.json<PlanJson>();
  const open = p.sections.flatMap((s) => s.items).filter((i) => i.state !== 'done');
  return { code: r.code, phase: p.phase, open: open.map(({ item, state }) => ({ item, state })) };
}

describe('adoption 9: honest output — exit codes and progress that do not mislead', () => {
  it('regression: plan exited 1 at both ends of a successful migration; it exits 0 whenever what is due holds', async () => {
    const dir = world();
    await ok(dir, 'phase', 'advance', ...NO_APP);
    // Before the backfill: the row counts differ and the backfill is ahead — pending, not failed.
    let p = await plan(dir);
    expect(p).toMatchObject({ code: 0, phase: 'dual-write' });
    expect(p.open).toContainEqual({
      item: 'row counts match (a hint: `midair verify` is the check)',
      state: 'pending',
    });
    expect(p.open.every((i) => i.state === 'pending')).toBe(true);
    await ok(dir, 'backfill');
    await ok(dir, 'verify');
    await ok(dir, 'phase', 'advance', ...NO_APP);
    expect(await plan(dir)).toMatchObject({ code: 0, phase: 'shadow-read' });
    // No application serves traffic here, so no shadow comparisons: forced past that gate, on the record.
    await ok(dir, 'phase', 'advance', '--ramp', '10', '--force', '--reason', 'test: no traffic to compare');
    expect(await plan(dir)).toMatchObject({ code: 0, phase: 'ramp' });
    await ok(dir, 'phase', 'advance', '--yes', '--force', '--reason', 'test: no traffic to compare');
    p = await plan(dir);
    expect(p).toMatchObject({ code: 0, phase: 'new-primary' });
    expect(p.open).toContainEqual({
      item: 'full verification clean (hashes in each database, differing keys named)',
      state: 'pending', // the one complete needs runs now that new is authoritative
    });
    await ok(dir, 'verify');
    await ok(dir, 'phase', 'advance', '--yes', ...NO_APP);
    expect(await plan(dir)).toMatchObject({ code: 0, phase: 'old-read-only' });
    await ok(dir, 'phase', 'advance', '--yes', ...NO_APP);
    p = await plan(dir);
    // No application runs here: the one item left open is the fleet's, and it is pending, not failed.
    expect(p).toMatchObject({
      code: 0,
      phase: 'complete',
      open: [{ item: 'every live instance on the current phase', state: 'pending' }],
    });
    const md = await midair(dir, ['plan']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('- ✓ complete: old is no longer written; there is no way back');
    expect(md.stdout).not.toContain('✗');
  });

  it('plan exits 1 when an item due in this phase fails, and names it', async () => {
    const dir = world();
    await ok(dir, 'phase', 'advance', ...NO_APP);
    await ok(dir, 'phase', 'advance', '--force', '--reason', 'test: skip the backfill');
    const p = await plan(dir);
    expect(p.code).toBe(1);
    expect(p.open.filter((i) => i.state === 'failed').map((i) => i.item)).toEqual([
      'backfill complete: every key copied, then keys old no longer has pruned',
    ]);
  });

  it('regression: --ramp was ignored when the next phase is not ramp; it is refused (exit 2, nothing written)', async () => {
    const dir = world();
    const fresh = await refused(dir, ['phase', 'advance', '--ramp', '30'], /next phase is dual-write, not ramp/);
    expect(fresh.stderr).toContain('only the advance into ramp takes --ramp');
    expect(existsSync(join(dir, 'control.db'))).toBe(false);
    await ok(dir, 'phase', 'advance', ...NO_APP);
    await refused(dir, ['phase', 'advance', '--ramp', '30', '--json'], /^$/); // --json: the error is on stdout
    const r = await midair(dir, ['phase', 'advance', '--ramp', '30', '--json']);
    expect(r.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(JSON.stringify(r.json())).toContain('the next phase is shadow-read, not ramp');
  });

  it('regression: a --reason of spaces was accepted; every command that takes a reason refuses it, writing nothing', async () => {
    const dir = world();
    await ok(dir, 'phase', 'advance', ...NO_APP);
    const blank = /reason/;
    await refused(dir, ['phase', 'advance', '--reason', '   '], blank);
    await refused(dir, ['phase', 'advance', '--force', '--reason', '\t'], blank);
    await refused(dir, ['phase', 'rollback', '--reason', ' '], blank);
    await refused(dir, ['strict', 'on', '--reason', '  '], blank);
    await refused(dir, ['repairs', 'retry', '--all', '--reason', ' '], blank);
    await refused(dir, ['repairs', 'resolve', '7', '--reason', ' '], blank);
    await refused(dir, ['fleet', 'evict', 'gone', '--reason', ' '], blank);
    await refused(dir, ['dead-letters', 'accept', '--force', '--reason', '  '], /the reason given is blank/);
    await ok(dir, 'backfill');
    await ok(dir, 'verify');
    await ok(dir, 'phase', 'advance', ...NO_APP);
    await ok(dir, 'phase', 'advance', '--force', '--reason', 'test: into ramp');
    await refused(dir, ['phase', 'set', '--ramp', '50', '--reason', ' '], blank);
  });

  it('regression: off a terminal a backfill printed nothing until it ended; it prints progress lines (JSON lines with --json)', async () => {
    const dir = world(300);
    await ok(dir, 'phase', 'advance', ...NO_APP);
    const text = await midair(dir, ['backfill', '--workers', '2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^backfill: complete in \d+ ms — 300 rows read/);
    const lines = text.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^backfill: 300\/300 rows \(100 %\), \d+ rows\/s, 0 s left$/);
    const json = await midair(dir, ['backfill', '--restart', '--json']);
    expect(json.code).toBe(0);
    expect(json.json()).toMatchObject({ status: 'complete', rowsRead: 300 }); // stdout holds the result alone
    const events = json.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.at(-1)).toMatchObject({ progress: 'backfill', rowsDone: 300, total: 300, percent: 100 });
  });

  it('regression: a run waited out a dead worker’s lease silently; it says which range, who holds it and until when', async () => {
    const dir = world(40);
    await ok(dir, 'phase', 'advance', ...NO_APP);
    // A worker of another process died holding one of the run's two ranges, its lease 2 s from running out.
    const control = sqliteControlStore(await openSqlite(join(dir, 'control.db')), { ownsDatabase: true });
    await control.createRanges('users', 'backfill', [{ hi: keyId(20n) }, { lo: keyId(20n) }]);
    const held = await control.claimRange('users', 'backfill', 'dead-host:4711:gone#0', 2000);
    await control.close();
    expect(held).toBeDefined();
    const r = await midair(dir, ['backfill', '--workers', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/complete .* 40 rows read/);
    const waits = r.stderr.split('\n').filter((l) => l.includes('waiting for range'));
    expect(waits).toHaveLength(1); // said once, not once a poll
    expect(waits[0]).toMatch(
      /^backfill: waiting for range \d+ \(.*\] held by instance dead-host:4711:gone until \d{4}-\d\d-\d\dT[\d:.]+Z \(lease expires in \d+ s; a worker that died holding it is taken over then\)$/,
    );
  });

  it('regression: a phase change waited for an instance behind without a word; it names it and when it gives up', async () => {
    const dir = world();
    await ok(dir, 'phase', 'advance', ...NO_APP);
    const status = (await ok(dir, 'status', '--json')).json<{ version: number }>();
    const control = sqliteControlStore(await openSqlite(join(dir, 'control.db')), { ownsDatabase: true });
    const lagging = { migration: 'users', instanceId: 'app-7', host: 'h7', inFlightWrites: 0 };
    await control.heartbeat({ ...lagging, phaseVersion: status.version - 1 });
    let answered: Promise<void> | undefined;
    const r = await streaming(dir, ['phase', 'rollback', '--reason', 'test'], (stderr) => {
      if (!answered && stderr.includes('waiting for instance app-7'))
        answered = control.heartbeat({ ...lagging, phaseVersion: status.version }); // it catches up
    });
    await answered;
    await control.close();
    expect(r.code).toBe(0);
    expect(r.stderr.trim()).toMatch(
      new RegExp(
        `^phase rollback: waiting for instance app-7 \\(host h7, at phase version ${status.version - 1}, last seen \\d+ s ago\\) to acknowledge phase version ${status.version}; giving up at \\S+Z \\(in \\d+ s\\)`,
      ),
    );
  });

  it('regression: verify in count mode said "hashed in JS"; it says it counted', async () => {
    const dir = world();
    await ok(dir, 'phase', 'advance', ...NO_APP);
    const r = await midair(dir, ['verify', '--mode', 'count']);
    expect(r.code).toBe(1); // new is still empty
    expect(r.stdout).toContain('20 entities, counted (count mode: nothing hashed or compared)');
    expect(r.stdout).not.toContain('hashed in');
    const j = await midair(dir, ['verify', '--mode', 'count', '--json']);
    expect(j.json()).toMatchObject({
      mode: 'count',
      old: { count: 20, hashing: 'none', reason: 'count mode compares the two row counts only' },
      new: { count: 0, hashing: 'none' },
    });
  });
});
