import { problemCode, socketProblem, type ConnectionProblem } from '../sql/connection-problems.js';
import { errorFields, missingTableName, SOCKET_ERROR_CODES, type ClassifiedError } from '../sql/sql-errors.js';

const quoted = (message: string, pattern: RegExp): string | undefined => pattern.exec(message)?.[1];

/** `name` or `table.name`, as MySQL 8 qualifies an index: the two parts. */
function qualified(name: string): { table?: string; constraint: string } {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? { constraint: name } : { table: name.slice(0, dot), constraint: name.slice(dot + 1) };
}

/**
 * The table, constraint and column a constraint error names. Only the parts
 * of the message that are schema: a duplicate's message quotes the row's
 * value first (`Duplicate entry '<value>' for key 'users_email'`), so only
 * what follows its last `for key '` is read.
 */
function constraintDetails(errno: number, message: string): { table?: string; constraint?: string; column?: string } {
  if (errno === 1062) {
    const at = message.lastIndexOf(" for key '");
    return at < 0 ? {} : qualified(message.slice(at + " for key '".length).replace(/'$/, ''));
  }
  if (errno === 1451 || errno === 1452) {
    const m = /\(`[^`]*`\.`([^`]+)`, CONSTRAINT `([^`]+)`/.exec(message);
    return m ? { table: m[1], constraint: m[2] } : {};
  }
  if (errno === 1048) return { column: quoted(message, /^Column '([^']+)'/) };
  if (errno === 4025) {
    const m = /^CONSTRAINT `([^`]+)` failed for `[^`]*`\.`([^`]+)`/.exec(message);
    return m ? { constraint: m[1], table: m[2] } : {};
  }
  if (errno === 3819) return { constraint: quoted(message, /^Check constraint '([^']+)'/) };
  return {};
}

/** Why a connection was refused, from the error number and the server's message (user, host and database names only). */
function connectionProblem(errno: number | undefined, code: string, message: string): ConnectionProblem | undefined {
  switch (errno) {
    case 1049:
      return { kind: 'unknown-database', database: quoted(message, /Unknown database '([^']+)'/) };
    case 1045:
    case 1698:
      return {
        kind: 'access-denied',
        user: quoted(message, /for user '([^']*)'/),
        withPassword: errno === 1698 || /using password: NO/.test(message) ? false : undefined,
      };
    case 1044:
      return {
        kind: 'database-denied',
        user: quoted(message, /for user '([^']*)'/),
        database: quoted(message, /to database '([^']+)'/),
      };
    case 3159:
      return { kind: 'tls-required' };
    default:
      return code === 'HANDSHAKE_NO_SSL_SUPPORT' ? { kind: 'tls-unsupported' } : undefined;
  }
}

/** A `mysql2` failure, by its error number (or socket error). */
export function classifyMysqlError(err: unknown): ClassifiedError {
  const f = errorFields(err);
  const details = { driverCode: f.code ?? (f.errno === undefined ? undefined : String(f.errno)) };
  const problem = connectionProblem(f.errno, f.code ?? '', f.message) ?? socketProblem(f);
  if (problem) return { code: problemCode(problem), details, problem };
  const named = { ...details, ...constraintDetails(f.errno ?? 0, f.message) };
  switch (f.errno) {
    case 1062:
      return { code: 'UNIQUE_VIOLATION', details: named };
    case 1213:
      return { code: 'DEADLOCK', details };
    case 1205:
    case 3024:
    case 1969:
      return { code: 'TIMEOUT', details };
    case 1146:
      return { code: 'SCHEMA_MISMATCH', details: { ...details, table: missingTableName(f.message) } };
    case 1054:
      return { code: 'SCHEMA_MISMATCH', details };
    case 1048:
    case 1451:
    case 1452:
    case 3819:
    case 4025:
      return { code: 'CONSTRAINT', details: named };
    case 1264:
    case 1265:
    case 1292:
    case 1366:
    case 1406:
      return { code: 'INVALID_VALUE', details };
    default:
      break;
  }
  if (SOCKET_ERROR_CODES.has(f.code ?? '') || f.errno === 2013 || f.errno === 2006)
    return { code: 'CONNECTION', details };
  return { code: 'UNKNOWN', details };
}
