import { problemCode, socketProblem, type ConnectionProblem } from '../sql/connection-problems.js';
import { errorFields, missingTableName, SOCKET_ERROR_CODES, type ClassifiedError } from '../sql/sql-errors.js';

const quoted = (message: string, pattern: RegExp): string | undefined => pattern.exec(message)?.[1];

/**
 * Why a connection was refused, from the SQLSTATE and the server's message
 * (which names the database, role and host — identifiers, never values), or
 * from `pg`'s own client-side errors (which have no code).
 */
function connectionProblem(code: string, message: string): ConnectionProblem | undefined {
  if (code === '3D000') return { kind: 'unknown-database', database: quoted(message, /database "([^"]+)"/) };
  if (code === '28P01') return { kind: 'bad-password', user: quoted(message, /for user "([^"]+)"/) };
  if (code === '28000') {
    const role = quoted(message, /role "([^"]+)" does not exist/);
    if (role !== undefined) return { kind: 'unknown-role', user: role };
    return {
      kind: 'not-allowed',
      user: quoted(message, /user "([^"]+)"/),
      database: quoted(message, /database "([^"]+)"/),
      tls: /no encryption/.test(message) ? false : /SSL encryption|GSS encryption/.test(message) ? true : undefined,
    };
  }
  if (code !== '') return undefined;
  if (/does not support SSL connections/i.test(message)) return { kind: 'tls-unsupported' };
  if (/client password must be a string/i.test(message)) return { kind: 'no-password' };
  return undefined;
}

/** A `pg` failure, by its SQLSTATE (or socket error). */
export function classifyPostgresError(err: unknown): ClassifiedError {
  const f = errorFields(err);
  const details = { driverCode: f.code, constraint: f.constraint, table: f.table, column: f.column };
  const code = f.code ?? '';
  const problem = connectionProblem(code, f.message) ?? socketProblem(f);
  if (problem) return { code: problemCode(problem), details, problem };
  if (code === '23505') return { code: 'UNIQUE_VIOLATION', details };
  if (code.startsWith('23')) return { code: 'CONSTRAINT', details };
  if (code === '40P01' || code === '40001') return { code: 'DEADLOCK', details };
  if (code === '57014' || code === '55P03') return { code: 'TIMEOUT', details };
  if (code === '42P01' || code === '42703' || code === '42704')
    return { code: 'SCHEMA_MISMATCH', details: { ...details, table: f.table ?? missingTableName(f.message) } };
  if (code.startsWith('22')) return { code: 'INVALID_VALUE', details };
  if (
    code.startsWith('08') ||
    code === '57P01' ||
    SOCKET_ERROR_CODES.has(code) ||
    /Connection terminated/i.test(f.message)
  ) {
    return { code: 'CONNECTION', details };
  }
  return { code: 'UNKNOWN', details };
}
