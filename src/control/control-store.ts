import type { Phase } from '../core/phases.js';

/** What a phase change sets. */
export interface PhaseSetting {
  readonly phase: Phase;
  /** Percent of keys (0–100) read from new in `ramp`. */
  readonly rampPercent: number;
  /** The cutover freeze: instances hold writes (they wait, they do not fail) while authority changes hands. */
  readonly writesPaused: boolean;
  /** Strict dual writes: both stores or neither. */
  readonly strict: boolean;
}

/** Just the setting of a state (or of any object carrying one). */
export function settingOf(s: PhaseSetting): PhaseSetting {
  return { phase: s.phase, rampPercent: s.rampPercent, writesPaused: s.writesPaused, strict: s.strict };
}

/** The fleet-wide toggle: one per migration, changed only by compare-and-swap on `version`. */
export interface PhaseState extends PhaseSetting {
  readonly migration: string;
  readonly version: number;
  readonly changedAt: Date;
}

export const AUDIT_ACTIONS = ['init', 'advance', 'rollback', 'set', 'halt', 'pause', 'strict', 'evict', 'repair-retry', 'repair-resolve', 'dead-letter-accept', 'facts-reset'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who changed what, when and why. */
export interface AuditEntry {
  readonly seq: number;
  readonly migration: string;
  readonly at: Date;
  readonly actor: string;
  readonly action: AuditAction;
  readonly from: PhaseSetting | undefined;
  readonly to: PhaseSetting;
  /** The state version the change produced. */
  readonly version: number;
  readonly reason: string;
  readonly forced: boolean;
}

export interface AuditInput {
  readonly actor: string;
  readonly action: AuditAction;
  readonly reason: string;
  readonly forced: boolean;
}

/** One application instance, as its last heartbeat described it. */
export interface InstanceInfo {
  readonly migration: string;
  readonly instanceId: string;
  readonly host: string;
  /** The phase-state version this instance serves with. */
  readonly phaseVersion: number;
  /** Writes it has started and not finished. */
  readonly inFlightWrites: number;
  readonly lastSeen: Date;
  readonly startedAt: Date;
}

export type HeartbeatInput = Omit<InstanceInfo, 'lastSeen' | 'startedAt'>;

/** The reason of an intent: a key queued before the first of two writes, cleared by the second. */
export const INTENT_REASON = 'INTENT';

/** The reason of a write that failed but may still commit: kept through re-enqueues, re-checked once more after its repair. */
export const STICKY_REPAIR_REASON = 'UNKNOWN_OUTCOME';

export const REPAIR_DIRECTIONS = ['old-to-new', 'new-to-old'] as const;
/** Which way a repair copies: from the store that was authoritative when the write failed. */
export type RepairDirection = (typeof REPAIR_DIRECTIONS)[number];

export interface RepairInput {
  /** The key as `keyId()` spells it (see `parseKeyId`). Keys are not row values; storing them is allowed. */
  readonly keyId: string;
  /**
   * Why: an error code, `TIMEOUT`, `INTENT` … — never a value. A re-enqueue
   * takes the newer reason, except over {@link STICKY_REPAIR_REASON}, which
   * stays until the entry completes (its late re-check must not be lost).
   */
  readonly reason: string;
  /**
   * Not due (not claimable) for this many ms: an intent recorded before a
   * write, or a re-check after the longest time an unknown-outcome write could
   * still land. Enqueuing a key already queued keeps the earlier due time.
   * Default 0 (due at once).
   */
  readonly delayMs?: number;
  /**
   * The phase version (fence epoch) of a write that may still land: an
   * intent queued before the write, or a write whose outcome is unknown. The
   * entry keeps the highest epoch given until it completes; a repairer
   * re-syncs such an entry but completes it only once that version is fenced
   * out (the write can no longer land), or its writer completes it.
   */
  readonly epoch?: number;
}

/** A repair entry as claimed by one repairer: a lease spreads work, it does not make it safe (two syncs of one key converge). */
export interface ClaimOptions {
  /** Who claims (an instance id). */
  readonly owner: string;
  readonly limit: number;
  /** How long the claim keeps other repairers off these entries. */
  readonly leaseMs: number;
  /** Also claim entries not due yet (the cutover drain, when every live writer is frozen). Default false. */
  readonly includeDelayed?: boolean;
  /** Also claim entries under another owner's unexpired claim (the cutover drain: two syncs of a key converge). Default false. */
  readonly takeOver?: boolean;
}

/** What made a repair fail for good: a constraint the data breaks on the target store. Identifiers only, never values. */
export interface RepairProblem {
  /** The error code (`UNIQUE_VIOLATION`, `CONSTRAINT` …). */
  readonly code: string;
  /** The store the copy failed on. */
  readonly store: string;
  readonly constraint?: string | undefined;
  /** The error's message (it names operations, tables and constraints, never values). */
  readonly message: string;
}

/** A repair moved out of the pending queue after its retries: it waits for the operator (`midair repairs`). */
export interface ParkedRepair {
  readonly migration: string;
  readonly direction: RepairDirection;
  readonly keyId: string;
  readonly reason: string;
  readonly problem: RepairProblem;
  readonly attempts: number;
  readonly parkedAt: Date;
}

export interface RepairEntry extends RepairInput {
  readonly migration: string;
  readonly direction: RepairDirection;
  /**
   * A fresh random token on every enqueue of the key: completing with an older
   * token leaves a newer enqueue in place — even one made after the entry was
   * completed and removed (a counter restarting at 1 would match it: the ABA
   * problem, found by the model-based test).
   */
  readonly seq: number;
  readonly enqueuedAt: Date;
  readonly attempts: number;
}

/** A row the backfill could not copy: its key and an error code, never its values. */
export interface DeadLetter {
  readonly keyId: string;
  /** The error's code (`ENCODING`, `TRANSFORM`, a driver code …). */
  readonly reason: string;
  readonly at: Date;
  /** How many times it failed. */
  readonly attempts: number;
}

/**
 * One range of the key space, leased to one backfill worker at a time.
 * Bounds are key ids: `lo` exclusive, `hi` inclusive, absent for an open end.
 */
export interface RangeLease {
  readonly rangeId: number;
  readonly lo?: string | undefined;
  readonly hi?: string | undefined;
  /** Progress: the last key copied in this range. */
  readonly after?: string | undefined;
  readonly owner?: string | undefined;
  /** Fencing token: a new one with every claim; only its holder may renew or complete the range. */
  readonly token: number;
  readonly leasedUntil: Date;
  readonly complete: boolean;
}

/**
 * Where a migration's shared state lives: the phase toggle with its audit
 * log, instance heartbeats, the durable repair queue and checkpoints.
 * Backends: memory (simulations), SQLite (the embedded default), PostgreSQL,
 * MySQL/MariaDB — all pass one conformance suite.
 *
 * @example
 * ```ts
 * const state = await control.init('users-to-pg', 'ops@host');
 * await control.compareAndSet('users-to-pg', state.version, { ...state, phase: 'dual-write' },
 *   { actor: 'ops@host', action: 'advance', reason: 'start dual writes', forced: false });
 * ```
 */
export interface ControlStore {
  readonly name: string;
  /** Creates the control tables. Idempotent. */
  setup(): Promise<void>;
  /** Creates the migration's state in `old-only` (version 1) unless it exists; returns the current state. */
  init(migration: string, actor: string): Promise<PhaseState>;
  getState(migration: string): Promise<PhaseState | undefined>;
  /**
   * Applies `next` and appends its audit entry in one step, iff the state is
   * still at `expectedVersion`. Resolves the new state, or `undefined` when
   * another change won.
   */
  compareAndSet(migration: string, expectedVersion: number, next: PhaseSetting, audit: AuditInput): Promise<PhaseState | undefined>;
  /**
   * Appends an audit entry that changes no phase (an eviction, an accepted
   * repair or dead letter, a facts reset): `from` and `to` are the current
   * setting, `version` the current version.
   */
  appendAudit(migration: string, audit: AuditInput): Promise<void>;
  /** Newest first. */
  auditLog(migration: string, options?: { readonly limit?: number }): Promise<AuditEntry[]>;

  heartbeat(info: HeartbeatInput): Promise<void>;
  /** Instances whose last heartbeat is at or after `since`. */
  instances(migration: string, since: Date): Promise<InstanceInfo[]>;
  /** Removes the instance's heartbeat (a clean stop, or `midair fleet evict`). */
  removeInstance(migration: string, instanceId: string): Promise<void>;

  /**
   * Adds keys to the repair queue, or bumps the seq of keys already there
   * (keeping the earlier due time). Resolves each entry's new seq, in order.
   */
  enqueueRepairs(migration: string, direction: RepairDirection, entries: readonly RepairInput[]): Promise<number[]>;
  /** Which of `keyIds` have a pending repair in that direction. */
  pendingRepairs(migration: string, direction: RepairDirection, keyIds: readonly string[]): Promise<Set<string>>;
  /** Up to `limit` entries, oldest first, due or not, claimed or not; they stay queued until completed (for display). */
  peekRepairs(migration: string, direction: RepairDirection, limit: number): Promise<RepairEntry[]>;
  /**
   * Leases up to `limit` due entries (oldest first) that no one holds an
   * unexpired claim on — the claimer's own included, so an entry it keeps
   * rests until its lease ends — to `owner` for `leaseMs`. Disjoint between
   * concurrent claimers while leases hold; an expired claim is taken over; a
   * re-enqueue frees the entry at once.
   */
  claimRepairs(migration: string, direction: RepairDirection, options: ClaimOptions): Promise<RepairEntry[]>;
  /** Removes the entry iff its seq is still `seq`. Resolves whether it did. */
  completeRepair(migration: string, direction: RepairDirection, keyId: string, seq: number): Promise<boolean>;
  /** Counts a failed attempt and releases the claim; the entry stays queued. Resolves the attempts so far. */
  failRepair(migration: string, direction: RepairDirection, keyId: string, seq: number): Promise<number>;
  /**
   * Pending entries (parked ones not counted), leaving out those whose reason
   * is in `options.excludeReasons` (the gates leave out intents of writes in
   * flight).
   */
  repairDepth(migration: string, direction?: RepairDirection, options?: { readonly excludeReasons?: readonly string[] }): Promise<number>;
  /** Moves the entry to the parked list iff its seq is still `seq`. Resolves whether it did. */
  parkRepair(migration: string, direction: RepairDirection, keyId: string, seq: number, problem: RepairProblem): Promise<boolean>;
  /** Parked repairs, oldest first. */
  parkedRepairs(migration: string, options?: { readonly limit?: number }): Promise<ParkedRepair[]>;
  parkedCount(migration: string): Promise<number>;
  /** Puts parked keys (all, without `keyIds`) back in the pending queue, due at once. Resolves how many. */
  retryParked(migration: string, keyIds?: readonly string[]): Promise<number>;
  /** Drops parked keys the operator accepted (the caller writes the audit entry). Resolves how many. */
  resolveParked(migration: string, keyIds: readonly string[]): Promise<number>;

  /**
   * Optional push of phase changes (PostgreSQL LISTEN/NOTIFY): `onChange` is
   * called soon after any process changes the migration's state. Best effort —
   * instances keep polling. Resolves a function that stops the subscription.
   */
  subscribe?(migration: string, onChange: () => void): Promise<() => Promise<void>>;

  /** Records rows that could not be copied (a repeat counts another attempt). */
  addDeadLetters(migration: string, entries: readonly RepairInput[]): Promise<void>;
  /** Oldest first. */
  deadLetters(migration: string, limit: number): Promise<DeadLetter[]>;
  /** Removes those keys' dead letters; resolves how many there were. */
  removeDeadLetters(migration: string, keyIds: readonly string[]): Promise<number>;
  deadLetterCount(migration: string): Promise<number>;

  /** Creates a backfill's ranges unless they exist; resolves whether this call created them (one creator wins a race). */
  createRanges(migration: string, name: string, ranges: readonly { readonly lo?: string | undefined; readonly hi?: string | undefined }[]): Promise<boolean>;
  /** Leases an unfinished range whose lease is free or expired, with a new token; `undefined` when none is free. */
  claimRange(migration: string, name: string, owner: string, leaseMs: number): Promise<RangeLease | undefined>;
  /** Extends the lease and records progress; false when the token no longer holds it (another worker took it over). */
  renewRange(migration: string, name: string, rangeId: number, token: number, leaseMs: number, after?: string): Promise<boolean>;
  /** Marks the range done; false when the token no longer holds it. */
  completeRange(migration: string, name: string, rangeId: number, token: number): Promise<boolean>;
  ranges(migration: string, name: string): Promise<RangeLease[]>;
  dropRanges(migration: string, name: string): Promise<void>;

  saveCheckpoint(migration: string, name: string, value: string): Promise<void>;
  loadCheckpoint(migration: string, name: string): Promise<string | undefined>;

  close(): Promise<void>;
}
