import { safeError } from '../core/errors.js';
import type { Phase } from '../core/phases.js';
import type { MigrationEventName, MigrationEvents, TypedEvents } from './events.js';

/** One level method of a pino-compatible logger: the fields first, then the message. */
export type LogMethod = (fields: object, message: string) => void;

/**
 * What midair logs through: pino, or anything with pino's level methods.
 * `child` (bindings on every line) and `isLevelEnabled` (skip building a
 * line nobody keeps) are used when present.
 *
 * @example defineMigration({ …, logger: pino() })
 */
export interface MidairLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  child?(bindings: Record<string, unknown>): MidairLogger;
  isLevelEnabled?(level: string): boolean;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The level each event is logged at (docs/decisions/0023); `null`: never
 * logged — `store-call`, `shadow-compared` and `served` come with every call, too hot for a log
 * (metrics count them). A new event does not compile until it is given one.
 */
export const EVENT_LOG_LEVELS: Readonly<Record<MigrationEventName, LogLevel | null>> = {
  'phase-changed': 'info',
  waiting: 'info',
  'second-write-failed': 'warn',
  mismatch: 'warn',
  halted: 'error',
  'repair-parked': 'error',
  error: 'error',
  'repair-enqueued': 'debug',
  repaired: 'debug',
  'lazy-copied': 'debug',
  served: null,
  'store-call': null,
  'shadow-compared': null,
};

interface Line {
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** Each logged event's fields — key ids, field names, codes, phases; never a value — and its message. */
const LINES: { readonly [N in MigrationEventName]?: (p: MigrationEvents[N]) => Line } = {
  'phase-changed': ({ from, to }) => ({
    fields: {
      phase: to.phase,
      from: from?.phase ?? null,
      version: to.version,
      rampPercent: to.rampPercent,
      writesPaused: to.writesPaused,
      strict: to.strict,
    },
    message: `phase ${from ? `${from.phase} → ` : ''}${to.phase} (version ${to.version}${to.writesPaused ? ', writes paused' : ''})`,
  }),
  waiting: (n) => ({ fields: { on: n.on, holder: n.holder, until: n.until.toISOString() }, message: n.message }),
  'second-write-failed': ({ keyId, side, code }) => ({
    fields: { keyId, side, code },
    message: `the second write to ${side} failed (${code}); the key is queued for repair`,
  }),
  // `values` (shadow.includeValues) never reaches a log line.
  mismatch: ({ keyId, fields, phase }) => ({
    fields: { keyId, fields, phase },
    message: `shadow comparison: ${fields.length} field(s) differ (${fields.join(', ')})`,
  }),
  halted: ({ from, to, reason }) => ({
    fields: { from, to, reason },
    message: `auto-halt: ${from} → ${to}: ${reason}`,
  }),
  'repair-parked': ({ keyId, code, store, side }) => ({
    fields: { keyId, code, store, side },
    message: `a repair into ${store} fails with ${code}, which no retry can fix: parked for the operator (midair repairs list)`,
  }),
  error: ({ operation, error }) => {
    const safe = safeError(error);
    return {
      fields: { operation, code: safe.code ?? 'UNKNOWN', error: safe },
      message: `${operation} failed (${safe.code ?? safe.name})`,
    };
  },
  'repair-enqueued': ({ keyId, reason }) => ({ fields: { keyId, reason }, message: 'repair queued' }),
  repaired: ({ keyId, result }) => ({ fields: { keyId, result }, message: `repaired (${result})` }),
  'lazy-copied': ({ keyId }) => ({ fields: { keyId }, message: 'copied into new on read' }),
};

/** A logger whose every line carries `bindings`: its child when it has one. */
export function boundLogger(logger: MidairLogger, bindings: Record<string, unknown>): MidairLogger {
  if (typeof logger.child === 'function') return logger.child(bindings);
  const bind =
    (m: LogMethod): LogMethod =>
    (fields, message) =>
      m.call(logger, { ...bindings, ...fields }, message);
  return {
    debug: bind(logger.debug),
    info: bind(logger.info),
    warn: bind(logger.warn),
    error: bind(logger.error),
    ...(logger.isLevelEnabled ? { isLevelEnabled: (level: string) => logger.isLevelEnabled?.(level) ?? true } : {}),
  };
}

/** Writes one line at `level` unless the logger says nobody keeps it. */
export function logAt(log: MidairLogger, level: LogLevel, line: () => Line & { readonly event: string }): void {
  if (log.isLevelEnabled?.(level) === false) return;
  const { event, fields, message } = line();
  log[level]({ event, ...fields }, message);
}

/**
 * Logs the migration's events through `log` (already bound to the
 * migration and the instance), each with its name as `event` and the phase
 * this instance serves as `phase` (an event's own phase wins). A logger that
 * throws is reported as an `error` event, never into the call that emitted.
 */
export function logEvents(events: TypedEvents, log: MidairLogger, phase: () => Phase | undefined): () => void {
  const off: (() => void)[] = [];
  const listen = <N extends MigrationEventName>(name: N): void => {
    const level = EVENT_LOG_LEVELS[name];
    const line: ((p: MigrationEvents[N]) => Line) | undefined = LINES[name];
    if (!level || !line) return;
    off.push(
      events.on(name, (payload) =>
        logAt(log, level, () => {
          const { fields, message } = line(payload);
          return { event: name, fields: { phase: phase() ?? null, ...fields }, message };
        }),
      ),
    );
  };
  for (const name of Object.keys(EVENT_LOG_LEVELS) as MigrationEventName[]) listen(name);
  return () => {
    for (const o of off) o();
  };
}
