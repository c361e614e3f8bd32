import { errorFields, missingTableName, type ClassifiedError } from '../sql/sql-errors.js';

/** The table and column(s) of `UNIQUE constraint failed: users.email` (or `NOT NULL …`): schema names, never values. */
function constraintColumns(message: string): { table?: string; column?: string } {
  const m = /^(?:UNIQUE|NOT NULL) constraint failed: ((?:[^\s.,]+\.[^\s.,]+)(?:, [^\s.,]+\.[^\s.,]+)*)$/.exec(message);
  if (!m) return {};
  const parts = (m[1] as string).split(', ').map((p) => p.split('.') as [string, string]);
  return { table: parts[0]?.[0], column: parts.map((p) => p[1]).join(', ') };
}

/** A `better-sqlite3` failure, by its SQLite result code. */
export function classifySqliteError(err: unknown): ClassifiedError {
  const f = errorFields(err);
  const code = f.code ?? '';
  const details = { driverCode: code || undefined };
  if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE')
    return { code: 'UNIQUE_VIOLATION', details: { ...details, ...constraintColumns(f.message) } };
  if (code.startsWith('SQLITE_CONSTRAINT'))
    return { code: 'CONSTRAINT', details: { ...details, ...constraintColumns(f.message) } };
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return { code: 'TIMEOUT', details };
  if (code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE')
    return { code: 'INVALID_VALUE', details };
  if (/no such (table|column)|has no column named/i.test(f.message))
    return { code: 'SCHEMA_MISMATCH', details: { ...details, table: missingTableName(f.message) } };
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_NOTADB') return { code: 'CONNECTION', details };
  return { code: 'UNKNOWN', details };
}
