import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { col, MidairError, sqlMapping } from '../../src/index.js';
import { postgresStore } from '../../src/postgres/index.js';
import { MysqlDialect } from '../../src/mysql/mysql-dialect.js';
import { PostgresDialect } from '../../src/postgres/postgres-dialect.js';
import { SqliteDialect } from '../../src/sqlite/sqlite-dialect.js';

describe('driver errors', () => {
  it('map to the same codes whichever backend produced them', () => {
    expect(new PostgresDialect().classifyError({ code: '23505', constraint: 'users_email_key' })).toMatchObject({
      code: 'UNIQUE_VIOLATION',
      details: { constraint: 'users_email_key' },
    });
    expect(new MysqlDialect().classifyError({ errno: 1062, code: 'ER_DUP_ENTRY' }).code).toBe('UNIQUE_VIOLATION');
    expect(new SqliteDialect().classifyError({ code: 'SQLITE_CONSTRAINT_UNIQUE' }).code).toBe('UNIQUE_VIOLATION');
    expect(new PostgresDialect().classifyError({ code: '40P01' }).code).toBe('DEADLOCK');
    expect(new MysqlDialect().classifyError({ errno: 1213 }).code).toBe('DEADLOCK');
    expect(new PostgresDialect().classifyError({ code: 'ECONNREFUSED' }).code).toBe('CONNECTION');
    expect(new MysqlDialect().classifyError({ code: 'ECONNREFUSED' }).code).toBe('CONNECTION');
  });

  it('an unreachable server surfaces as CONNECTION, naming the operation and not the credentials', async () => {
    const pool = new pg.Pool({
      connectionString: 'postgres://alice:hunter2@127.0.0.1:1/none',
      connectionTimeoutMillis: 2000,
    });
    const store = postgresStore(
      pool,
      sqlMapping<{ id: number }>({ key: 'id', tables: [{ table: 't', columns: { id: col.integer('id') } }] }),
    );
    const err = await store.get(1).catch((e: unknown) => e);
    await pool.end();
    expect(err).toBeInstanceOf(MidairError);
    expect((err as MidairError).code).toBe('CONNECTION');
    expect((err as MidairError).message).toMatch(
      /^get on postgres:t failed: cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\)/,
    );
    expect((err as MidairError).message).not.toContain('hunter2');
  });
});
