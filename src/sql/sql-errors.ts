import { describeFailure, MidairError, type MidairErrorCode, type MidairErrorDetails } from '../core/errors.js';
import type { DialectName } from '../mapping/codecs.js';
import {
  describeProblem,
  problemDetails,
  type ConnectionProblem,
  type ConnectionTarget,
} from './connection-problems.js';

/** A driver failure, classified. */
export interface ClassifiedError {
  readonly code: MidairErrorCode;
  readonly details: MidairErrorDetails;
  /** Why a connection failed, when it did: the message then says what to fix instead of the generic description. */
  readonly problem?: ConnectionProblem | undefined;
}

/** How one engine classifies its driver's failures. */
export type ErrorClassifier = (err: unknown) => ClassifiedError;

/** What a caller adds to the message of a classified failure (how to fix it), or ''. */
export type ErrorHint = (code: MidairErrorCode, details: MidairErrorDetails) => string;

/** Where a failure happened, for its message. */
export interface FailureSite {
  readonly store: string;
  readonly operation: string;
  readonly hint?: ErrorHint | undefined;
  /** The engine and what the store knows of where it connects, for connection failures. */
  readonly engine: DialectName;
  readonly target?: ConnectionTarget | undefined;
  /** Where the store's URL came from (a config field such as `migrations.users.old.url`): it leads connection failures' messages. */
  readonly source?: string | undefined;
}

/** What a statement that failed was writing (see {@link marking}). */
export interface WriteMark {
  readonly table?: string;
  /** The one key written, as `keyId()` spells it. */
  readonly key?: string;
}

const marks = new WeakMap<object, WriteMark>();

/**
 * Runs `work`; a driver failure it throws is marked with what was being
 * written — the table and, for one entity, its key — so the wrapped error
 * can name them (the driver's own error may name the row only by its
 * values). The innermost mark wins.
 */
export async function marking<T>(mark: WriteMark, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (typeof err === 'object' && err !== null && !(err instanceof MidairError))
      marks.set(err, { ...mark, ...marks.get(err) });
    throw err;
  }
}

const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/**
 * The one wrapping of a driver failure every SQL caller shares (stores and
 * the control store): a MidairError passes through; anything else is
 * classified and described for the site — a connection failure with the
 * sentence that says what to fix (led by `source` when known), any other
 * with its operation, store, identifiers and the hint.
 */
export function wrapSqlError(err: unknown, classify: ErrorClassifier, site: FailureSite): MidairError {
  if (err instanceof MidairError) return err;
  const { code, details, problem } = classify(err);
  const { store, operation } = site;
  const mark = typeof err === 'object' && err !== null ? marks.get(err) : undefined;
  const full = defined({
    ...details,
    table: details.table ?? mark?.table,
    key: mark?.key,
    ...(problem ? problemDetails(problem, site.target ?? {}) : {}),
    store,
    operation,
  });
  const message = problem
    ? `${site.source ?? `${operation} on ${store} failed`}: ${describeProblem(problem, site.engine, site.target ?? {})}`
    : describeFailure(code, full) + (site.hint?.(code, details) ?? '');
  return new MidairError(code, message, { cause: err, details: full });
}

/** Reads the driver error fields every classifier looks at. */
export function errorFields(err: unknown): {
  code?: string;
  errno?: number;
  message: string;
  constraint?: string;
  table?: string;
  column?: string;
  address?: string;
  port?: number;
  hostname?: string;
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
    address: str(e.address),
    port: typeof e.port === 'number' ? e.port : undefined,
    hostname: str(e.hostname),
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
