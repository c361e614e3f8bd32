import { describeFailure, MidairError, type MidairErrorCode, type MidairErrorDetails } from '../core/errors.js';

/** A driver failure, classified. */
export interface ClassifiedError {
  readonly code: MidairErrorCode;
  readonly details: MidairErrorDetails;
}

/** How one engine classifies its driver's failures. */
export type ErrorClassifier = (err: unknown) => ClassifiedError;

/** What a caller adds to the message of a classified failure (how to fix it), or ''. */
export type ErrorHint = (code: MidairErrorCode, details: MidairErrorDetails) => string;

/**
 * The one wrapping of a driver failure every SQL caller shares (stores and
 * the control store): a MidairError passes through; anything else is
 * classified, described for `store` and `operation`, and given the hint.
 */
export function wrapSqlError(
  err: unknown,
  classify: ErrorClassifier,
  store: string,
  operation: string,
  hint?: ErrorHint,
): MidairError {
  if (err instanceof MidairError) return err;
  const { code, details } = classify(err);
  const full = { ...details, store, operation };
  return new MidairError(code, describeFailure(code, full) + (hint?.(code, details) ?? ''), {
    cause: err,
    details: full,
  });
}

/** Reads the driver error fields every classifier looks at. */
export function errorFields(err: unknown): {
  code?: string;
  errno?: number;
  message: string;
  constraint?: string;
  table?: string;
  column?: string;
} {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
  return {
    code: str(e.code) ?? (typeof e.code === 'number' ? String(e.code) : undefined),
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: typeof e.message === 'string' ? e.message : '',
    constraint: str(e.constraint),
    table: str(e.table),
    column: str(e.column),
  };
}

/**
 * The table a "no such table" message names — an identifier, never a value.
 * PostgreSQL: `relation "x" does not exist`; MySQL: `Table 'db.x' doesn't exist`; SQLite: `no such table: x`.
 */
export function missingTableName(message: string): string | undefined {
  const m = /relation "([^"]+)" does not exist|Table '([^']+)' doesn't exist|no such table: (\S+)/.exec(message);
  const name = m?.[1] ?? m?.[2] ?? m?.[3];
  return name?.split('.').pop();
}

/** Network-level failures that every driver reports through Node's socket errors. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
]);
