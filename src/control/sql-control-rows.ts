import { MidairError } from '../core/errors.js';
import { isPhase } from '../core/phases.js';
import { cellText } from '../sql/sql-catalog.js';
import { decodeStoreCalls } from './store-calls.js';
import {
  type DeadLetter,
  type RangeLease,
  AUDIT_ACTIONS,
  REPAIR_DIRECTIONS,
  type AuditAction,
  type AuditEntry,
  type InstanceInfo,
  type ParkedRepair,
  type PhaseSetting,
  type PhaseState,
  type RepairDirection,
  type RepairEntry,
} from './control-store.js';

/**
 * Decoding of control-table rows. Drivers hand cells back as text (PostgreSQL,
 * MySQL), bigint (SQLite integers) or number (SQLite reals); every cell goes
 * through `cellText` first so the three agree. Messages name tables and
 * columns, never the values found there.
 */
type Row = readonly unknown[];

function bad(table: string, column: string): MidairError {
  return new MidairError('ENCODING', `control table ${table}: column ${column} holds a value midair cannot read`, {
    details: { table, column },
  });
}

export function text(row: Row, i: number, table: string, column: string): string {
  const v = cellText(row[i]);
  if (v === null) throw bad(table, column);
  return v;
}

export function num(row: Row, i: number, table: string, column: string): number {
  const v = Number(text(row, i, table, column));
  if (!Number.isFinite(v)) throw bad(table, column);
  return v;
}

const flag = (row: Row, i: number, table: string, column: string): boolean => num(row, i, table, column) !== 0;
const time = (row: Row, i: number, table: string, column: string): Date => new Date(num(row, i, table, column));

/** A setting as the audit table stores it: JSON with a fixed key order. */
export function settingJson(s: PhaseSetting): string {
  return JSON.stringify({ phase: s.phase, rampPercent: s.rampPercent, writesPaused: s.writesPaused, strict: s.strict });
}

function parseSetting(json: string, table: string, column: string): PhaseSetting {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw bad(table, column);
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const { phase, rampPercent, writesPaused, strict } = o;
  if (
    !isPhase(phase) ||
    typeof rampPercent !== 'number' ||
    typeof writesPaused !== 'boolean' ||
    typeof strict !== 'boolean'
  )
    throw bad(table, column);
  return { phase, rampPercent, writesPaused, strict };
}

/** Columns: migration, phase, ramp_percent, writes_paused, strict, version, changed_at. */
export function decodeState(row: Row, table: string): PhaseState {
  const phase = text(row, 1, table, 'phase');
  if (!isPhase(phase)) throw bad(table, 'phase');
  return {
    migration: text(row, 0, table, 'migration'),
    phase,
    rampPercent: num(row, 2, table, 'ramp_percent'),
    writesPaused: flag(row, 3, table, 'writes_paused'),
    strict: flag(row, 4, table, 'strict'),
    version: num(row, 5, table, 'version'),
    changedAt: time(row, 6, table, 'changed_at'),
  };
}

/** Columns: seq, migration, at, actor, action, from_setting, to_setting, version, reason, forced. */
export function decodeAudit(row: Row, table: string): AuditEntry {
  const action = text(row, 4, table, 'action');
  if (!(AUDIT_ACTIONS as readonly string[]).includes(action)) throw bad(table, 'action');
  const from = cellText(row[5]);
  return {
    seq: num(row, 0, table, 'seq'),
    migration: text(row, 1, table, 'migration'),
    at: time(row, 2, table, 'at'),
    actor: text(row, 3, table, 'actor'),
    action: action as AuditAction,
    from: from === null ? undefined : parseSetting(from, table, 'from_setting'),
    to: parseSetting(text(row, 6, table, 'to_setting'), table, 'to_setting'),
    version: num(row, 7, table, 'version'),
    reason: text(row, 8, table, 'reason'),
    forced: flag(row, 9, table, 'forced'),
  };
}

/** Columns: migration, instance_id, host, phase_version, in_flight_writes, last_seen, started_at, write_p99_ms, write_count, store_calls. */
export function decodeInstance(row: Row, table: string): InstanceInfo {
  const served =
    cellText(row[7]) === null || cellText(row[8]) === null
      ? undefined
      : { p99Ms: num(row, 7, table, 'write_p99_ms'), count: num(row, 8, table, 'write_count') };
  const storeCalls = decodeStoreCalls(cellText(row[9]));
  return {
    migration: text(row, 0, table, 'migration'),
    instanceId: text(row, 1, table, 'instance_id'),
    host: text(row, 2, table, 'host'),
    phaseVersion: num(row, 3, table, 'phase_version'),
    inFlightWrites: num(row, 4, table, 'in_flight_writes'),
    lastSeen: time(row, 5, table, 'last_seen'),
    startedAt: time(row, 6, table, 'started_at'),
    ...(served ? { servedWrites: served } : {}),
    ...(storeCalls ? { storeCalls } : {}),
  };
}

function direction(row: Row, i: number, table: string): RepairDirection {
  const d = text(row, i, table, 'direction');
  if (!(REPAIR_DIRECTIONS as readonly string[]).includes(d)) throw bad(table, 'direction');
  return d as RepairDirection;
}

/**
 * Columns: migration, direction, key_id, seq, reason, enqueued_at, attempts, due_at, epoch.
 * An entry not due at `now` carries the rest of its delay as `delayMs`.
 */
export function decodeRepair(row: Row, table: string, now: number): RepairEntry {
  const due = num(row, 7, table, 'due_at');
  return {
    migration: text(row, 0, table, 'migration'),
    direction: direction(row, 1, table),
    keyId: text(row, 2, table, 'key_id'),
    seq: num(row, 3, table, 'seq'),
    reason: text(row, 4, table, 'reason'),
    enqueuedAt: time(row, 5, table, 'enqueued_at'),
    attempts: num(row, 6, table, 'attempts'),
    ...(due > now ? { delayMs: due - now } : {}),
    ...(row[8] === null || row[8] === undefined ? {} : { epoch: num(row, 8, table, 'epoch') }),
  };
}

/** Columns: migration, direction, key_id, reason, attempts, parked_at, problem_code, problem_store, problem_constraint, problem_message. */
export function decodeParked(row: Row, table: string): ParkedRepair {
  const constraint = optional(row, 8, table, 'problem_constraint');
  return {
    migration: text(row, 0, table, 'migration'),
    direction: direction(row, 1, table),
    keyId: text(row, 2, table, 'key_id'),
    reason: text(row, 3, table, 'reason'),
    attempts: num(row, 4, table, 'attempts'),
    parkedAt: time(row, 5, table, 'parked_at'),
    problem: {
      code: text(row, 6, table, 'problem_code'),
      store: text(row, 7, table, 'problem_store'),
      ...(constraint === undefined ? {} : { constraint }),
      message: text(row, 9, table, 'problem_message'),
    },
  };
}

export function decodeDeadLetter(row: Row, table: string): DeadLetter {
  return {
    keyId: text(row, 0, table, 'key_id'),
    reason: text(row, 1, table, 'reason'),
    at: time(row, 2, table, 'at'),
    attempts: num(row, 3, table, 'attempts'),
  };
}

const optional = (row: Row, i: number, table: string, column: string): string | undefined =>
  row[i] === null || row[i] === undefined ? undefined : text(row, i, table, column);

export function decodeRange(row: Row, table: string): RangeLease {
  return {
    rangeId: num(row, 0, table, 'range_id'),
    lo: optional(row, 1, table, 'lo'),
    hi: optional(row, 2, table, 'hi'),
    after: optional(row, 3, table, 'after_key'),
    owner: optional(row, 4, table, 'owner'),
    token: num(row, 5, table, 'token'),
    leasedUntil: time(row, 6, table, 'leased_until'),
    complete: num(row, 7, table, 'complete') === 1,
    rows: num(row, 8, table, 'rows_done'),
  };
}
