/**
 * One error class for every failure midair reports, with a stable string `code`.
 *
 * Messages name operations, stores, tables, columns and constraints — never row
 * values or credentials, which are users' personal data and secrets. The
 * driver's own error is kept as `cause` for debugging.
 *
 * @example
 * ```ts
 * try { await store.put(user); }
 * catch (err) {
 *   if (err instanceof MidairError && err.code === 'UNIQUE_VIOLATION') { … }
 * }
 * ```
 */
export const ERROR_CODES = [
  'UNIQUE_VIOLATION',
  'CONSTRAINT',
  'CONNECTION',
  'UNKNOWN_DATABASE',
  'AUTH_FAILED',
  'TLS',
  'TIMEOUT',
  'DEADLOCK',
  'SCHEMA_MISMATCH',
  'CONFLICT',
  'INVALID_ARGUMENT',
  'INVALID_VALUE',
  'ENCODING',
  'NOT_SUPPORTED',
  'ABORTED',
  'CLOSED',
  'CONFIG',
  'BLOCKED',
  'FENCED',
  'UNKNOWN',
] as const;

export type MidairErrorCode = (typeof ERROR_CODES)[number];

/** Identifiers (never values) that help locate a failure. */
export interface MidairErrorDetails {
  readonly store?: string;
  readonly operation?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;
  readonly field?: string;
  /** The key of the one entity the failed write was writing, as `keyId()` spells it (keys are not row values). */
  readonly key?: string;
  /** Where the store connects (`host:port`, or a socket path) — never the URL, which may hold a password. */
  readonly server?: string;
  /** The database and the user a connection failure names. */
  readonly database?: string;
  readonly user?: string;
  /** The driver's own error code (`23505`, `ER_DUP_ENTRY`, `SQLITE_BUSY` …). */
  readonly driverCode?: string;
  /** In a migration: which side failed, and whether it was the authoritative one for the phase that served the call. */
  readonly side?: 'old' | 'new';
  readonly authoritative?: boolean;
  /** FENCED: the name of the fence that refused the write (a migration's, or a leased range's). */
  readonly fence?: string;
}

export class MidairError extends Error {
  override readonly name = 'MidairError';
  readonly code: MidairErrorCode;
  readonly details: MidairErrorDetails;

  constructor(code: MidairErrorCode, message: string, options: { cause?: unknown; details?: MidairErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options.details });
  }

  /** True for failures worth retrying as they are: deadlocks, lock timeouts, dropped connections. */
  get retryable(): boolean {
    return this.code === 'DEADLOCK' || this.code === 'TIMEOUT' || this.code === 'CONNECTION';
  }
}

const DESCRIPTIONS: Record<MidairErrorCode, string> = {
  UNIQUE_VIOLATION: 'a unique constraint was violated: another row already holds the same value',
  CONSTRAINT: 'a constraint was violated',
  CONNECTION: 'the database connection failed',
  UNKNOWN_DATABASE: 'the database named in the connection URL does not exist',
  AUTH_FAILED: 'the server refused the user or password of the connection URL',
  TLS: "the connection URL's TLS settings and the server's do not match",
  TIMEOUT: 'the operation timed out',
  DEADLOCK: 'a deadlock or serialization conflict aborted the transaction',
  CONFLICT: 'a concurrent change won; read the current state and retry',
  SCHEMA_MISMATCH: 'the live schema does not match the mapping (run store.check() for details)',
  INVALID_ARGUMENT: 'an argument was invalid',
  INVALID_VALUE: 'a value does not fit its column',
  ENCODING: 'a value could not be encoded or decoded',
  NOT_SUPPORTED: 'the operation is not supported by this store',
  ABORTED: 'the operation was aborted',
  CLOSED: 'the store is closed',
  CONFIG: 'the configuration is invalid',
  BLOCKED: 'a gate blocks the phase change',
  FENCED: 'the write was issued under a phase version the migration has moved past; nothing was written',
  UNKNOWN: 'the database reported an error',
};

/**
 * Builds the one message format used for driver failures, whatever backend
 * produced them: `<operation> on <store> failed: <description> (table …, constraint …)`.
 */
export function describeFailure(code: MidairErrorCode, details: MidairErrorDetails): string {
  const where = [
    details.table && `table ${details.table}`,
    details.column && `column ${details.column}`,
    details.constraint && `constraint ${details.constraint}`,
    details.key && `key ${details.key}`,
    details.driverCode && `driver code ${details.driverCode}`,
  ].filter(Boolean);
  const head = `${details.operation ?? 'operation'} on ${details.store ?? 'store'} failed: ${DESCRIPTIONS[code]}`;
  return where.length > 0 ? `${head} (${where.join(', ')})` : head;
}

/** Throws ABORTED if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new MidairError('ABORTED', `${operation} was aborted`, { cause: signal.reason, details: { operation } });
  }
}

/**
 * An error as midair logs it and puts it in a report: a plain object that
 * can be printed or sent anywhere. A MidairError keeps its code, message and
 * details (identifiers, never values); any other error — a driver's, a
 * user's transform's — keeps only its name and the fields a driver fills
 * with codes and schema names. Its message is dropped: a foreign message may
 * quote a value (MySQL's `Duplicate entry '…' for key …`, PostgreSQL's
 * `invalid input syntax for type integer: "…"`), and so are `detail`
 * (`Key (email)=(…)`), `where`, `hint`, the statement and its parameters,
 * the stack, and every other field. The same holds through `cause`, and
 * through `errors` of an AggregateError.
 *
 * @example logger.error({ error: safeError(err) }, 'the backfill failed');
 */
export interface SafeError {
  readonly name: string;
  /** A MidairError's code; a driver's own code (`23505`, `ER_DUP_ENTRY`, `ECONNREFUSED`). */
  readonly code?: string;
  /** A MidairError's message only. */
  readonly message?: string;
  /** A MidairError's details (identifiers), when it has any. */
  readonly details?: MidairErrorDetails;
  /** A driver's error number, SQLSTATE, severity, and the schema names it reports. */
  readonly errno?: number;
  readonly sqlState?: string;
  readonly severity?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;
  /** A socket error's system call (`connect`, `getaddrinfo`). */
  readonly syscall?: string;
  readonly cause?: SafeError;
  readonly errors?: readonly SafeError[];
}

/** The string fields of a foreign error kept: codes and schema names (never a value, never a statement). */
const FOREIGN_FIELDS = ['sqlState', 'severity', 'schema', 'table', 'column', 'constraint', 'syscall'] as const;
/** How deep a cause chain is followed, and how many errors of an AggregateError are kept. */
const MAX_DEPTH = 8;
const MAX_ERRORS = 5;

export function safeError(error: unknown): SafeError {
  return safe(error, 0, new Set());
}

function safe(error: unknown, depth: number, seen: Set<object>): SafeError {
  if (typeof error !== 'object' || error === null) return { name: typeof error };
  if (seen.has(error)) return { name: 'cycle' };
  seen.add(error);
  const e = error as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (error instanceof MidairError) {
    out.name = error.name;
    out.code = error.code;
    out.message = error.message;
    if (Object.keys(error.details).length > 0) out.details = error.details;
  } else {
    out.name = error instanceof Error ? error.name : (error.constructor?.name ?? 'object');
    const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
    const code = text(e.code) ?? (typeof e.code === 'number' ? String(e.code) : undefined);
    if (code !== undefined) out.code = code;
    if (typeof e.errno === 'number') out.errno = e.errno;
    for (const field of FOREIGN_FIELDS) {
      const value = text(e[field]);
      if (value !== undefined) out[field] = value;
    }
  }
  if (depth < MAX_DEPTH) {
    if (e.cause !== undefined) out.cause = safe(e.cause, depth + 1, seen);
    if (Array.isArray(e.errors) && e.errors.length > 0)
      out.errors = e.errors.slice(0, MAX_ERRORS).map((x: unknown) => safe(x, depth + 1, seen));
  }
  return out as unknown as SafeError;
}

/**
 * An error as a run's result reports it: {@link safeError}'s code and
 * message — a MidairError's own (which never carry row values); for anything
 * else UNKNOWN and only its name, since a foreign message may quote a value.
 */
export function errorSummary(error: unknown): { readonly code: string; readonly message: string } {
  const s = safeError(error);
  return error instanceof MidairError
    ? { code: s.code ?? 'UNKNOWN', message: s.message ?? '' }
    : { code: 'UNKNOWN', message: error instanceof Error ? s.name : 'error' };
}

/**
 * A sync by many keys that failed part-way: the batches that committed
 * before the failure stay written. Says what they did and which keys were
 * not written, so a caller retrying key by key neither redoes nor miscounts
 * the rest. Its code and message are the failure's own.
 */
export class PartialSyncError extends MidairError {
  constructor(
    failure: MidairError,
    readonly done: {
      readonly inserted: number;
      readonly updated: number;
      readonly deleted: number;
      readonly unchanged: number;
    },
    readonly notDone: readonly string[],
  ) {
    super(failure.code, failure.message, { cause: failure, details: failure.details });
  }
}
