import { errorFields, missingTableName, SOCKET_ERROR_CODES, type ClassifiedError } from '../sql/sql-errors.js';

/** A `pg` failure, by its SQLSTATE (or socket error). */
export function classifyPostgresError(err: unknown): ClassifiedError {
  const f = errorFields(err);
  const details = { driverCode: f.code, constraint: f.constraint, table: f.table, column: f.column };
  const code = f.code ?? '';
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
