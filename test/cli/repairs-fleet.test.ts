import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { evictInstance, listFleet, pidOf } from '../../src/cli/commands/fleet.js';
import { listRepairs, resolveRepairs, retryRepairs } from '../../src/cli/commands/repairs.js';
import { openContext, type CliContext } from '../../src/cli/context.js';
import type { ControlStore, RepairProblem } from '../../src/control/control-store.js';
import { sqliteControlStore } from '../../src/sqlite/index.js';
import { midair } from './cli-support.js';

const UNIQUE: RepairProblem = {
  code: 'UNIQUE_VIOLATION',
  store: 'new (users + user_profiles)',
  constraint: 'users_email_key',
  message: 'put on new: unique constraint users_email_key violated',
};
const NOW = Date.UTC(2026, 0, 1, 12);
/** From the real time on, one millisecond further at every reading: the seeded entries' order is the order they were written in. */
const ticking = (): (() => number) => {
  let t = Date.now();
  return () => ++t;
};

const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A folder with a JSON config over three SQLite files: old `users`, new `users` + `user_profiles`, and the control database. */
function project(): { dir: string; config: string; control: (now?: () => number) => ControlStore } {
  const dir = mkdtempSync(join(tmpdir(), 'midair-ops-'));
  dirs.push(dir);
  const oldDb = new Database(join(dir, 'old.db'));
  oldDb.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
  oldDb.close();
  const newDb = new Database(join(dir, 'new.db'));
  newDb.exec(
    'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL); CREATE TABLE user_profiles (user_id INTEGER PRIMARY KEY, full_name TEXT NOT NULL)',
  );
  newDb.close();
  const config = join(dir, 'midair.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      control: 'sqlite:control.db',
      migrations: {
        users: {
          old: {
            url: 'sqlite:old.db',
            mapping: {
              key: 'id',
              tables: [{ table: 'users', columns: { id: 'bigint', email: 'text', name: 'text' } }],
            },
          },
          new: {
            url: 'sqlite:new.db',
            mapping: {
              key: 'id',
              tables: [
                { table: 'users', columns: { id: 'bigint', email: 'text' } },
                { table: 'user_profiles', columns: { id: 'bigint:user_id', name: 'text:full_name' } },
              ],
            },
          },
        },
      },
    }),
  );
  const control = (now?: () => number): ControlStore => {
    const store = sqliteControlStore(new Database(join(dir, 'control.db')), {
      ownsDatabase: true,
      ...(now ? { now } : {}),
    });
    open.push(store);
    return store;
  };
  return { dir, config, control };
}

/** The application side: a migration, two queued repairs and two parked ones (one parked in both directions). */
async function seed(control: ControlStore): Promise<void> {
  await control.setup();
  await control.init('users', 'ops@test');
  await control.enqueueRepairs('users', 'old-to-new', [
    { keyId: 'n1', reason: 'TIMEOUT' },
    { keyId: 'n2', reason: 'TIMEOUT', delayMs: 60_000 },
    { keyId: 'n3', reason: 'ECONNRESET' },
    { keyId: 'n4', reason: 'TIMEOUT' },
  ]);
  const claimed = await control.claimRepairs('users', 'old-to-new', { owner: 'w', limit: 10, leaseMs: 60_000 });
  for (const e of claimed.filter((x) => x.keyId === 'n3' || x.keyId === 'n4')) {
    await control.failRepair('users', 'old-to-new', e.keyId, e.seq);
    await control.parkRepair(
      'users',
      'old-to-new',
      e.keyId,
      e.seq,
      e.keyId === 'n3' ? UNIQUE : { code: 'ENCODING', store: 'old (users)', message: 'get on old: cannot read' },
    );
  }
  const [back] = await control.enqueueRepairs('users', 'new-to-old', [{ keyId: 'n4', reason: 'TIMEOUT' }]);
  await control.parkRepair('users', 'new-to-old', 'n4', back ?? -1, UNIQUE);
}

async function context(config: string): Promise<CliContext> {
  const ctx = await openContext({ config });
  open.push(ctx);
  return ctx;
}

describe('midair repairs', () => {
  it('list shows pending and parked repairs with key, reason, attempts, store and constraint', async () => {
    const p = project();
    await seed(p.control(ticking()));
    const r = await listRepairs(await context(p.config));
    expect(r).toMatchObject({ migration: 'users', pending: 2, parked: 3 });
    const rows = r.repairs.map((x) => [x.state, x.direction, x.keyId, x.reason, x.attempts, x.store, x.constraint]);
    expect(rows).toEqual([
      ['pending', 'old-to-new', 'n1', 'TIMEOUT', 0, 'new (users + user_profiles)', null],
      ['pending', 'old-to-new', 'n2', 'TIMEOUT', 0, 'new (users + user_profiles)', null],
      ['parked', 'old-to-new', 'n3', 'ECONNRESET', 1, 'new (users + user_profiles)', 'users_email_key'],
      ['parked', 'old-to-new', 'n4', 'TIMEOUT', 1, 'old (users)', null],
      ['parked', 'new-to-old', 'n4', 'TIMEOUT', 0, 'new (users + user_profiles)', 'users_email_key'],
    ]);
    expect(r.repairs.find((x) => x.keyId === 'n2')?.dueInMs).toBeGreaterThan(0);
    expect(r.repairs.find((x) => x.keyId === 'n3')).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      message: UNIQUE.message,
    });
  });

  it('retry puts the given parked keys back, due at once with fresh attempts, and audits repair-retry; an unknown key is refused with nothing written', async () => {
    const p = project();
    const control = p.control(ticking());
    await seed(control);
    const ctx = await context(p.config);
    const before = await control.auditLog('users');

    await expect(retryRepairs(ctx, ['n3', 'n9'], { actor: 'alice@ops' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/n9.*nothing changed/) as unknown,
    });
    await expect(retryRepairs(ctx, [], {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(retryRepairs(ctx, ['n3'], { all: true })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await control.parkedCount('users')).toBe(3);
    expect(await control.auditLog('users')).toEqual(before);

    const r = await retryRepairs(ctx, ['n4'], { actor: 'alice@ops', reason: 'fixed the encoding' });
    expect(r).toMatchObject({ action: 'repair-retry', count: 2, keyIds: ['n4'] });
    expect((await control.parkedRepairs('users')).map((x) => x.keyId)).toEqual(['n3']);
    expect(await control.pendingRepairs('users', 'old-to-new', ['n4'])).toEqual(new Set(['n4']));
    expect(await control.pendingRepairs('users', 'new-to-old', ['n4'])).toEqual(new Set(['n4']));
    const [entry] = await control.auditLog('users', { limit: 1 });
    expect(entry).toMatchObject({
      actor: 'alice@ops',
      action: 'repair-retry',
      reason: 'fixed the encoding [retried n4]',
      version: 1,
    });

    const all = await retryRepairs(ctx, [], { all: true, actor: 'alice@ops' });
    expect(all).toMatchObject({ count: 1, keyIds: ['n3'] });
    expect(await control.parkedCount('users')).toBe(0);
    expect(await retryRepairs(ctx, [], { all: true })).toMatchObject({ count: 0 });
  });

  it('resolve drops parked keys the operator accepts and audits repair-resolve with the reason; it refuses without a reason or for a key not parked', async () => {
    const p = project();
    const control = p.control(ticking());
    await seed(control);
    const ctx = await context(p.config);
    const before = await control.auditLog('users');
    await expect(resolveRepairs(ctx, ['n3'], {})).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('--reason') as unknown,
    });
    await expect(resolveRepairs(ctx, ['n3'], { reason: '   ' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(resolveRepairs(ctx, ['n3', 'n1'], { reason: 'n1 is pending, not parked' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(resolveRepairs(ctx, [], { reason: 'nothing' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await control.parkedCount('users')).toBe(3);
    expect(await control.auditLog('users')).toEqual(before);

    const r = await resolveRepairs(ctx, ['n3', 'n3'], {
      reason: 'duplicate account, merged by hand',
      actor: 'bob@ops',
    });
    expect(r).toMatchObject({ action: 'repair-resolve', count: 1, keyIds: ['n3'] });
    expect((await control.parkedRepairs('users')).map((x) => x.keyId)).toEqual(['n4', 'n4']);
    expect(await control.pendingRepairs('users', 'old-to-new', ['n3'])).toEqual(new Set());
    const [entry] = await control.auditLog('users', { limit: 1 });
    expect(entry).toMatchObject({
      actor: 'bob@ops',
      action: 'repair-resolve',
      reason: 'duplicate account, merged by hand [resolved n3]',
    });
  });
});

describe('midair fleet', () => {
  const heartbeats = async (control: ControlStore): Promise<void> => {
    await control.setup();
    const state = await control.init('users', 'ops@test');
    await control.compareAndSet(
      'users',
      state.version,
      { ...state, phase: 'dual-write' },
      { actor: 'ops@test', action: 'advance', reason: 'go', forced: false },
    );
    await control.heartbeat({
      migration: 'users',
      instanceId: 'web-1:4242:0a1b2c3d',
      host: 'web-1',
      phaseVersion: 2,
      inFlightWrites: 0,
    });
    await control.heartbeat({
      migration: 'users',
      instanceId: 'worker-blue',
      host: 'web-2',
      phaseVersion: 1,
      inFlightWrites: 3,
    });
  };

  it('list shows each instance’s id, host, pid where the id is the default one, acknowledged version and heartbeat age', async () => {
    const p = project();
    await heartbeats(p.control(() => NOW - 90_000));
    const f = await listFleet(await context(p.config), NOW);
    expect(f).toMatchObject({ migration: 'users', version: 2 });
    expect(
      f.instances.map((i) => [i.instanceId, i.host, i.pid, i.phaseVersion, i.acknowledged, i.lastSeenMsAgo]),
    ).toEqual([
      ['web-1:4242:0a1b2c3d', 'web-1', 4242, 2, true, 90_000],
      ['worker-blue', 'web-2', null, 1, false, 90_000],
    ]);
    expect(pidOf('my-host.example:17:deadbeef')).toBe(17);
    expect(pidOf('a:b:c')).toBeUndefined();
  });

  it('evict removes the heartbeat and audits evict; an unknown instance or a missing reason is refused with nothing written', async () => {
    const p = project();
    const control = p.control(() => NOW - 5000);
    await heartbeats(control);
    const ctx = await context(p.config);
    const before = await control.auditLog('users');
    await expect(evictInstance(ctx, 'web-9:1:00000000', { reason: 'gone' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('nothing changed') as unknown,
    });
    await expect(evictInstance(ctx, 'worker-blue', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await control.auditLog('users')).toEqual(before);
    expect(await control.instances('users', new Date(0))).toHaveLength(2);

    const e = await evictInstance(ctx, 'worker-blue', { reason: 'host decommissioned', actor: 'carol@ops' }, NOW);
    expect(e).toEqual({ migration: 'users', instanceId: 'worker-blue', host: 'web-2', lastSeenMsAgo: 5000 });
    expect((await control.instances('users', new Date(0))).map((i) => i.instanceId)).toEqual(['web-1:4242:0a1b2c3d']);
    const [entry] = await control.auditLog('users', { limit: 1 });
    expect(entry).toMatchObject({
      actor: 'carol@ops',
      action: 'evict',
      reason: 'host decommissioned [evicted worker-blue]',
      version: 2,
      from: { phase: 'dual-write' },
      to: { phase: 'dual-write' },
    });
  });
});

describe('the commands from a shell', () => {
  it('exit 2 and write nothing when refused; list and resolve print what they did', async () => {
    const p = project();
    const control = p.control(ticking());
    await seed(control);
    await control.heartbeat({
      migration: 'users',
      instanceId: 'web-1:4242:0a1b2c3d',
      host: 'web-1',
      phaseVersion: 1,
      inFlightWrites: 0,
    });
    const before = await control.auditLog('users');

    const refused = await midair(p.dir, ['fleet', 'evict', 'ghost', '--reason', 'gone']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('INVALID_ARGUMENT');
    expect(await control.auditLog('users')).toEqual(before);
    expect(await control.instances('users', new Date(0))).toHaveLength(1);

    const list = await midair(p.dir, ['--json', 'repairs', 'list']);
    expect(list.code).toBe(1); // parked repairs wait for the operator: not clean
    expect((JSON.parse(list.stdout) as { parked: number }).parked).toBe(3);

    const resolved = await midair(p.dir, ['repairs', 'resolve', 'n3', '--reason', 'merged by hand']);
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain('resolved 1 parked repair(s) (n3)');
    expect((await control.auditLog('users', { limit: 1 }))[0]).toMatchObject({
      action: 'repair-resolve',
      reason: 'merged by hand [resolved n3]',
    });
  });
});
