import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { sqliteDriver } from '../src/sqlite/index.js';
import { storeConformance } from './conformance/suite.js';

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
