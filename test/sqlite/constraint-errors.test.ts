import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { col, MidairError, sqlMapping } from '../../src/index.js';
import { sqliteStore } from '../../src/sqlite/index.js';

interface Account {
  id: number;
  email: string;
}

describe('adoption 8: errors that name the thing — SQLite constraints', () => {
  it('a unique violation names the table, the column and the key, never the value', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)');
    const store = sqliteStore<number, Account>(
      db,
      sqlMapping<Account>({
        key: 'id',
        tables: [{ table: 'accounts', columns: { id: col.integer('id'), email: col.text('email') } }],
      }),
    );
    await store.setup();
    const taken = 'taken-3304@example.com';
    await store.put({ id: 1, email: taken });
    const err = (await store.put({ id: 2, email: taken }).catch((e: unknown) => e)) as MidairError;
    db.close();
    expect(err).toBeInstanceOf(MidairError);
    expect(err.code).toBe('UNIQUE_VIOLATION');
    expect(err.details).toMatchObject({ table: 'accounts', column: 'email', key: 'n2' });
    expect(err.message).toBe(
      'put on sqlite:accounts failed: a unique constraint was violated: another row already holds the same value (table accounts, column email, key n2, driver code SQLITE_CONSTRAINT_UNIQUE)',
    );
    expect(JSON.stringify(err.details)).not.toContain(taken);
  });
});
