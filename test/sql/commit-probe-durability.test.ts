import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/sqlite/index.js';
import { rowDdl, rowMapping, type Row } from '../conformance/fixtures.js';
import { availability, suiteBackends } from '../support/backends.js';

/**
 * What makes the commit probe a probe of what writers wait for, engine by
 * engine: its commit writes the log and waits for the flush (PostgreSQL,
 * MariaDB), or takes the write lock writers take (SQLite). A read does
 * neither, which is why the pacing stopped timing reads.
 */
const PROBES = 20;

describe.skipIf(!availability('postgres').run)('the commit probe on PostgreSQL', () => {
  const backends = suiteBackends('postgres');
  it('writes a new row version under a transaction id of its own, in a logged table: its commit flushes WAL', async () => {
    const backend = backends.postgres;
    const table = backend.unique('probed');
    await backend.ddl(rowDdl(table));
    const store = backend.store<bigint, Row>(rowMapping(table));
    await store.setup();
    const xmins = new Set<string>();
    for (let i = 0; i < PROBES; i++) {
      await store.commitProbe?.commit();
      const [row] = await backend.raw(`SELECT xmin::text FROM ${table}_midair_probe`);
      xmins.add(String(row?.[0]));
    }
    // A transaction id per probe (one that only took an id, without writing, would commit without a flush).
    expect(xmins.size).toBe(PROBES);
    const [persistence] = await backend.raw(
      `SELECT relpersistence FROM pg_class WHERE oid = '${table}_midair_probe'::regclass`,
    );
    expect(persistence).toEqual(['p']); // permanent: WAL-logged, not unlogged or temporary
  });
});

describe.skipIf(!availability('mysql').run)('the commit probe on MySQL/MariaDB', () => {
  const backends = suiteBackends('mysql');
  it('flushes the redo log at each commit (one fsync or more per probe, with innodb_flush_log_at_trx_commit = 1)', async () => {
    const backend = backends.mysql;
    const table = backend.unique('probed');
    await backend.ddl(rowDdl(table));
    const store = backend.store<bigint, Row>(rowMapping(table));
    await store.setup();
    await store.commitProbe?.commit(); // the row exists: from here on each probe updates it
    const [[flushAtCommit]] = (await backend.raw('SELECT @@innodb_flush_log_at_trx_commit')) as [[unknown]];
    const fsyncs = async (): Promise<number> =>
      Number((await backend.raw("SHOW GLOBAL STATUS LIKE 'Innodb_data_fsyncs'"))[0]?.[1]);
    const [engine] = await backend.raw(
      `SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${table}_midair_probe'`,
    );
    expect(engine).toEqual(['InnoDB']);
    const before = await fsyncs();
    for (let i = 0; i < PROBES; i++) await store.commitProbe?.commit();
    const after = await fsyncs();
    // The probes run one after another, so no one flush can serve two of them: each commit waited for one of its own
    // (whoever issued it; the counter is global and only grows). With a lazier setting the server does not flush.
    if (Number(flushAtCommit) === 1) expect(after - before).toBeGreaterThanOrEqual(PROBES);
    else expect(after).toBeGreaterThanOrEqual(before);
  });
});

describe('the commit probe on SQLite', () => {
  it('takes the write lock every writer takes: refused while another connection writes, committed once it is done', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-probe-'));
    const file = join(dir, 'db.sqlite');
    const db = new Database(file);
    const other = new Database(file);
    try {
      db.pragma('busy_timeout = 0'); // refused at once rather than waiting (the handle is synchronous)
      db.exec(String(rowDdl('items').sqlite));
      const store = sqliteStore<bigint, Row>(db, rowMapping('items'));
      await store.setup();
      other.exec('BEGIN IMMEDIATE'); // another connection's write transaction holds the lock
      await expect(store.commitProbe?.commit()).rejects.toMatchObject({ code: 'TIMEOUT' });
      other.exec('COMMIT');
      await store.commitProbe?.commit();
      expect(other.prepare('SELECT count(*) AS n FROM items_midair_probe').get()).toEqual({ n: 1 });
      expect(other.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 0 });
    } finally {
      other.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
