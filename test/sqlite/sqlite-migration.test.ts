import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { col, defineMigration, sqlMapping, type Migration } from '../../src/index.js';
import { sqliteControlStore, sqliteStore } from '../../src/sqlite/index.js';

interface User {
  id: bigint;
  email: string;
  name: string;
}

const open: Migration<bigint, User>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

describe('a migration on embedded SQLite (stores and control store)', () => {
  it('routes writes by phase, moves the whole fleet, and records who did what in the audit log', async () => {
    const oldDb = new Database(':memory:');
    const newDb = new Database(':memory:');
    const controlDb = new Database(':memory:');
    oldDb.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL)');
    newDb.exec(
      'CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, email TEXT NOT NULL, display_name TEXT NOT NULL)',
    );
    const oldStore = sqliteStore<bigint, User>(
      oldDb,
      sqlMapping<User>({
        key: 'id',
        tables: [
          { table: 'users', columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name') } },
        ],
      }),
    );
    const newStore = sqliteStore<bigint, User>(
      newDb,
      sqlMapping<User>({
        key: 'id',
        tables: [
          {
            table: 'accounts',
            columns: { id: col.bigint('account_id'), email: col.text('email'), name: col.text('display_name') },
          },
        ],
      }),
    );
    await oldStore.setup();
    await newStore.setup();
    const control = sqliteControlStore(controlDb);
    const instance = async (id: string): Promise<Migration<bigint, User>> => {
      const m = defineMigration({
        name: 'users',
        old: oldStore,
        new: newStore,
        control,
        instanceId: id,
        actor: 'ops@test',
        pollMs: 10,
        instanceExpiryMs: 500,
      });
      open.push(m);
      return m.start();
    };
    const a = await instance('a');
    const b = await instance('b');
    const users = a.repository();
    await users.put({ id: 1n, email: 'ada@example.com', name: 'Ada' });
    expect(await newStore.get(1n)).toBeUndefined();

    await a.advance({ reason: 'start dual writes' });
    await a.awaitFleet();
    expect(b.state.phase).toBe('dual-write');
    await b.repository().put({ id: 2n, email: 'bob@example.com', name: 'Bob' });
    await b.settle();
    expect(await newStore.get(2n)).toEqual({ id: 2n, email: 'bob@example.com', name: 'Bob' });

    await a.advance({ reason: 'compare reads' });
    await a.advance({ reason: 'ramp a tenth', rampPercent: 10 });
    await expect(a.rollback({ reason: '' })).rejects.toThrow(/needs a reason/);
    await a.rollback({ reason: 'mismatches on email', force: true });
    const log = await a.auditLog();
    expect(
      log.map(
        (e) =>
          `${e.action} ${e.from?.phase ?? '-'}→${e.to.phase} by ${e.actor}${e.forced ? ' (forced)' : ''}: ${e.reason}`,
      ),
    ).toEqual([
      'rollback ramp→shadow-read by ops@test (forced): mismatches on email',
      'advance shadow-read→ramp by ops@test: ramp a tenth',
      'advance dual-write→shadow-read by ops@test: compare reads',
      'advance old-only→dual-write by ops@test: start dual writes',
      'init -→old-only by ops@test: migration created',
    ]);
    expect((await a.fleet()).map((i) => i.instanceId).sort()).toEqual(['a', 'b']);
  });

  it('a control database from the release before claims and parking keeps its repair queue: setup() adds the due time, the claim and the parked table', async () => {
    const db = new Database(':memory:');
    // The repairs table exactly as the previous release created it, with one queued entry.
    db.exec(
      'CREATE TABLE "midair_repairs" ("migration" TEXT NOT NULL, "direction" TEXT NOT NULL, "key_id" TEXT NOT NULL, "seq" INTEGER NOT NULL, "reason" TEXT NOT NULL, "enqueued_at" INTEGER NOT NULL, "attempts" INTEGER NOT NULL, PRIMARY KEY ("migration", "direction", "key_id"));' +
        'CREATE INDEX "midair_repairs_by_age" ON "midair_repairs" ("migration", "direction", "enqueued_at");' +
        `INSERT INTO "midair_repairs" VALUES ('users', 'old-to-new', 'n7', 123456789, 'TIMEOUT', 1700000000000, 2);`,
    );
    let t = Date.UTC(2026, 0, 1);
    const control = sqliteControlStore(db, { now: () => t });
    await control.setup();
    await control.setup();
    const [entry] = await control.claimRepairs('users', 'old-to-new', { owner: 'a', limit: 10, leaseMs: 1000 });
    expect(entry).toMatchObject({
      keyId: 'n7',
      seq: 123456789,
      reason: 'TIMEOUT',
      attempts: 2,
      enqueuedAt: new Date(1700000000000),
    });
    expect(await control.claimRepairs('users', 'old-to-new', { owner: 'b', limit: 10, leaseMs: 1000 })).toEqual([]);
    t += 1001;
    expect(await control.failRepair('users', 'old-to-new', 'n7', 123456789)).toBe(3);
    expect(
      await control.parkRepair('users', 'old-to-new', 'n7', 123456789, {
        code: 'UNIQUE_VIOLATION',
        store: 'new',
        message: 'unique constraint violated',
      }),
    ).toBe(true);
    expect(await control.parkedCount('users')).toBe(1);
    expect(await control.repairDepth('users')).toBe(0);
    await control.close();
    db.close();
  });
});
