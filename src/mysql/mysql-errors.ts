import { errorFields, missingTableName, SOCKET_ERROR_CODES, type ClassifiedError } from '../sql/sql-errors.js';

/** A `mysql2` failure, by its error number (or socket error). */
export function classifyMysqlError(err: unknown): ClassifiedError {
  const f = errorFields(err);
  const details = { driverCode: f.code ?? (f.errno === undefined ? undefined : String(f.errno)) };
  switch (f.errno) {
    case 1062:
      return { code: 'UNIQUE_VIOLATION', details };
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
      return { code: 'CONSTRAINT', details };
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
