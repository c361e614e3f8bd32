import { describe, expect, it } from 'vitest';
import { errorSummary, MidairError, safeError } from '../../src/core/errors.js';
import { classifyPostgresError } from '../../src/postgres/postgres-errors.js';
import { wrapSqlError } from '../../src/sql/sql-errors.js';

const VALUE = 'ada-7361@example.com';

/** A driver error as pg builds one for a unique violation: the value sits in `detail`, and a foreign message may quote it too. */
function pgLikeError(): Error {
  return Object.assign(new Error(`duplicate key value violates unique constraint "users_email_key" (${VALUE})`), {
    name: 'error',
    code: '23505',
    severity: 'ERROR',
    schema: 'public',
    table: 'users',
    constraint: 'users_email_key',
    detail: `Key (email)=(${VALUE}) already exists.`,
    where: `SQL function "f" statement 1 with ${VALUE}`,
    hint: `try another than ${VALUE}`,
    query: `INSERT INTO users VALUES ('${VALUE}')`,
    parameters: [VALUE],
    values: [VALUE],
    sql: `INSERT INTO users VALUES ('${VALUE}')`,
    row: { email: VALUE },
  });
}

describe('safeError: what is logged and reported of an error', () => {
  it("keeps a MidairError's code, message and details, and of its driver cause only codes and schema names", () => {
    const wrapped = wrapSqlError(pgLikeError(), classifyPostgresError, {
      store: 'postgres:users',
      operation: 'put',
      engine: 'postgres',
    });
    const safe = safeError(wrapped);
    expect(JSON.stringify(safe)).not.toContain(VALUE);
    expect(safe).toEqual({
      name: 'MidairError',
      code: 'UNIQUE_VIOLATION',
      message: wrapped.message,
      details: wrapped.details,
      cause: {
        name: 'error',
        code: '23505',
        severity: 'ERROR',
        schema: 'public',
        table: 'users',
        constraint: 'users_email_key',
      },
    });
    expect(wrapped.details).toMatchObject({ constraint: 'users_email_key', table: 'users', driverCode: '23505' });
  });

  it('follows cause chains and AggregateErrors, stops at a cycle, and keeps nothing of a thrown string', () => {
    const inner = Object.assign(new Error(`connect ECONNREFUSED (${VALUE})`), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const aggregate = new AggregateError([inner, pgLikeError()], `all failed: ${VALUE}`);
    const outer = new MidairError('CONNECTION', 'get on pg failed: cannot reach db:5432', { cause: aggregate });
    const cyclic = new Error('loop') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    const safe = safeError(outer);
    expect(JSON.stringify(safe)).not.toContain(VALUE);
    expect(safe.cause).toEqual({
      name: 'AggregateError',
      errors: [
        { name: 'Error', code: 'ECONNREFUSED', syscall: 'connect' },
        expect.objectContaining({ code: '23505', constraint: 'users_email_key' }),
      ],
    });
    expect(safeError(cyclic)).toEqual({ name: 'Error', cause: { name: 'cycle' } });
    expect(safeError(VALUE)).toEqual({ name: 'string' });
    expect(safeError({ errno: 1062, code: 'ER_DUP_ENTRY', sqlMessage: VALUE })).toEqual({
      name: 'Object',
      code: 'ER_DUP_ENTRY',
      errno: 1062,
    });
  });

  it('a report carries what safeError keeps: a MidairError as it is, anything else as UNKNOWN and its name', () => {
    expect(errorSummary(new MidairError('TIMEOUT', 'get on old failed: the operation timed out'))).toEqual({
      code: 'TIMEOUT',
      message: 'get on old failed: the operation timed out',
    });
    expect(errorSummary(pgLikeError())).toEqual({ code: 'UNKNOWN', message: 'error' });
    expect(errorSummary(new TypeError(`bad ${VALUE}`))).toEqual({ code: 'UNKNOWN', message: 'TypeError' });
  });
});
