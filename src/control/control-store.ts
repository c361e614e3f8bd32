import type { CheckpointStore } from './checkpoint-store.js';
import type { DeadLetters } from './dead-letters.js';
import type { Fleet } from './fleet.js';
import type { PhaseLog, PhaseState } from './phase-log.js';
import type { RangeLeases } from './range-leases.js';
import type { RepairQueue } from './repair-queue.js';

export {
  AUDIT_ACTIONS,
  settingOf,
  type AuditAction,
  type AuditEntry,
  type AuditInput,
  type PhaseLog,
  type PhaseSetting,
  type PhaseState,
} from './phase-log.js';
export type {
  CallFigures,
  Fleet,
  HeartbeatInput,
  InstanceInfo,
  ServedLatency,
  SideCalls,
  StoreCallFigures,
} from './fleet.js';
export {
  INTENT_REASON,
  REPAIR_DIRECTIONS,
  STICKY_REPAIR_REASON,
  type ClaimOptions,
  type ParkedRepair,
  type RepairDirection,
  type RepairEntry,
  type RepairInput,
  type RepairProblem,
  type RepairQueue,
} from './repair-queue.js';
export type { DeadLetter, DeadLetters } from './dead-letters.js';
export type { RangeClaim, RangeLease, RangeLeases } from './range-leases.js';
export type { CheckpointStore } from './checkpoint-store.js';

/** What every control store has besides its contracts: a name, its tables' setup, and close. */
export interface ControlLifecycle {
  readonly name: string;
  /** Creates the control tables. Idempotent. */
  setup(): Promise<void>;
  /** Every migration the store holds a state for, by name. */
  migrations(): Promise<PhaseState[]>;
  /**
   * Deletes everything the store recorded for `migration` — its state, audit
   * log, instances, repairs, checkpoints, dead letters and leases — in one
   * step. The caller guards it (`midair migrations remove`); the data stores
   * are not touched.
   */
  removeMigration(migration: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where a migration's shared state lives: the union of six small contracts —
 * the phase toggle with its audit log ({@link PhaseLog}), instance
 * heartbeats ({@link Fleet}), the durable repair queue ({@link RepairQueue}),
 * dead letters ({@link DeadLetters}), leased key ranges ({@link RangeLeases})
 * and checkpoints ({@link CheckpointStore}, typed in `checkpoints.ts`). Code
 * that needs one part takes that contract. Backends: memory (simulations),
 * SQLite (the embedded default), PostgreSQL, MySQL/MariaDB — all pass one
 * conformance suite.
 *
 * @example
 * ```ts
 * const state = await control.init('users-to-pg', 'ops@host');
 * await control.compareAndSet('users-to-pg', state.version, { ...state, phase: 'dual-write' },
 *   { actor: 'ops@host', action: 'advance', reason: 'start dual writes', forced: false });
 * ```
 */
export type ControlStore = ControlLifecycle &
  PhaseLog &
  Fleet &
  RepairQueue &
  DeadLetters &
  RangeLeases &
  CheckpointStore;
