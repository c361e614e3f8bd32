import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqlStore } from '../../src/adapter.js';
import type { SqlDriver } from '../../src/sql/sql-driver.js';
import { SqliteDialect, sqliteDriver } from '../../src/sqlite/index.js';
import { rowMapping, type Row } from '../conformance/fixtures.js';
import { storeConformance } from '../conformance/store.suite.js';

storeConformance('sqlite');

describe('sqlite driver', () => {
  it('regression: an outside statement ran inside a SQLite transaction', async () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
      const driver = sqliteDriver(db);
      // The transaction is called first and the outside statement in the same tick: the statement
      // once slipped into the transaction's gap, resolved `affected: 1`, and was rolled back with it.
      const failing = driver.transaction(async (conn) => {
        await conn.query('INSERT INTO t (id) VALUES (1)');
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error('the transaction fails');
      });
      const outside = driver.query('INSERT INTO t (id) VALUES (2)');
      await expect(failing).rejects.toThrow('the transaction fails');
      expect((await outside).affected).toBe(1);
      expect(db.prepare('SELECT id FROM t ORDER BY id').raw(true).all()).toEqual([[2]]);
    } finally {
      db.close();
    }
  });

  it('runs statements and transactions on one handle one after another, in the order they were called', async () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER)');
      const driver = sqliteDriver(db);
      const order: string[] = [];
      const tx = (name: string, id: number): Promise<void> =>
        driver.transaction(async (conn) => {
          order.push(`${name} begins`);
          await conn.query('INSERT INTO t (id) VALUES (?)', [id]);
          await new Promise((resolve) => setImmediate(resolve));
          order.push(`${name} ends`);
        });
      const all = [
        tx('a', 1),
        driver.query('SELECT count(*) FROM t').then((r) => void order.push(`count ${String(r.rows[0]?.[0])}`)),
        tx('b', 2),
      ];
      await Promise.all(all);
      expect(order).toEqual(['a begins', 'a ends', 'count 1', 'b begins', 'b ends']);
    } finally {
      db.close();
    }
  });
});

describe('sqlite store statements', () => {
  /** A store over a driver that records every statement it is given, in or out of a transaction. */
  function recorded(db: Database.Database): { store: SqlStore<bigint, Row>; statements: string[] } {
    const statements: string[] = [];
    const inner = sqliteDriver(db);
    const driver: SqlDriver = {
      ...inner,
      query: async (sql, params) => {
        statements.push(sql);
        return inner.query(sql, params);
      },
      transaction: async (fn, options) =>
        inner.transaction(
          async (conn) =>
            fn({
              query: async (sql, params) => {
                statements.push(sql);
                return conn.query(sql, params);
              },
            }),
          options,
        ),
    };
    return { store: new SqlStore<bigint, Row>(new SqliteDialect(), driver, rowMapping('rows')), statements };
  }

  it('a write without a fence adds no statement; with one, the fence is the first thing its transaction reads', async () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, v TEXT NOT NULL)');
      const { store, statements } = recorded(db);
      await store.setup();
      statements.length = 0;
      await store.put({ id: 1n, version: 1, v: 'a' });
      expect(statements.some((sql) => sql.includes('_midair_fences'))).toBe(false);
      const unfenced = statements.length;
      statements.length = 0;
      await store.put({ id: 1n, version: 2, v: 'b' }, { fence: { migration: 'users', epoch: 1 } });
      expect(statements[0]).toMatch(/^SELECT .* FROM "rows_midair_fences" WHERE/);
      expect(statements).toHaveLength(unfenced + 1);
    } finally {
      db.close();
    }
  });
});
