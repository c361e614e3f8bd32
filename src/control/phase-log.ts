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

export const AUDIT_ACTIONS = [
  'init',
  'advance',
  'rollback',
  'set',
  'halt',
  'pause',
  'strict',
  'evict',
  'repair-retry',
  'repair-resolve',
  'dead-letter-accept',
  'facts-reset',
] as const;
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

/**
 * The phase log: the fleet-wide toggle of one migration, changed only by
 * compare-and-swap on its version, and the audit log of every change.
 */
export interface PhaseLog {
  /** Creates the migration's state in `old-only` (version 1) unless it exists; returns the current state. */
  init(migration: string, actor: string): Promise<PhaseState>;
  getState(migration: string): Promise<PhaseState | undefined>;
  /**
   * Applies `next` and appends its audit entry in one step, iff the state is
   * still at `expectedVersion`. Resolves the new state, or `undefined` when
   * another change won.
   */
  compareAndSet(
    migration: string,
    expectedVersion: number,
    next: PhaseSetting,
    audit: AuditInput,
  ): Promise<PhaseState | undefined>;
  /**
   * Appends an audit entry that changes no phase (an eviction, an accepted
   * repair or dead letter, a facts reset): `from` and `to` are the current
   * setting, `version` the current version.
   */
  appendAudit(migration: string, audit: AuditInput): Promise<void>;
  /** Newest first. */
  auditLog(migration: string, options?: { readonly limit?: number }): Promise<AuditEntry[]>;
  /**
   * Optional push of phase changes (PostgreSQL LISTEN/NOTIFY): `onChange` is
   * called soon after any process changes the migration's state. Best effort —
   * instances keep polling. Resolves a function that stops the subscription.
   */
  subscribe?(migration: string, onChange: () => void): Promise<() => Promise<void>>;
}
