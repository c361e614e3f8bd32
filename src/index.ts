/**
 * midair — zero-downtime data migrations for TypeScript.
 *
 * The core is driver-free; database adapters live under `midair/postgres`,
 * `midair/mysql` and `midair/sqlite`.
 */

// Errors
export { ERROR_CODES, MidairError, PartialSyncError, describeFailure } from './core/errors.js';
export type { MidairErrorCode, MidairErrorDetails } from './core/errors.js';

// Comparing entities
export { diffEntities, valuesEqual } from './core/compare.js';

// Keys and versions
export { compareKeys, keyId, parseKeyId } from './core/keys.js';
export type { Key, KeyPart } from './core/keys.js';
export { compareVersions } from './core/versions.js';
export type { Version } from './core/versions.js';

// The Store contract
export { CHECK_PROBLEM_CODES, DEFAULT_CAPABILITIES, readKeyOf } from './core/store.js';
export type {
  BulkWriteResult,
  CallOptions,
  Capabilities,
  CheckProblem,
  CheckProblemCode,
  CheckReport,
  DeleteOptions,
  Fence,
  KeyRange,
  KeyState,
  PutOptions,
  RangeHash,
  ScanOptions,
  Store,
  SyncManyResult,
  SyncResult,
  Tombstone,
} from './core/store.js';
export { decideWrite } from './core/entity.js';
export type { EntityShape, WriteDecision } from './core/entity.js';

// Mapping
export { COLUMN_FAMILIES, DIALECTS, canonicalDecimal, codecs } from './mapping/codecs.js';
export type { Codec, ColumnFamily, CustomCodecSpec, DialectName, TimestampOptions } from './mapping/codecs.js';
export { col, compareKeyCodecs, sqlMapping } from './mapping/mapping.js';
export { JSON_NULL, LosslessNumber, isLosslessNumber, jsonDecimal } from './core/json-value.js';
export type { JsonNull } from './core/json-value.js';
export type { ColumnSpec, MappedField, MappedTable, SqlMapping, SqlMappingSpec, TableMapping } from './mapping/mapping.js';

// Backfill
export { Throttle } from './jobs/throttle.js';
export type { ThrottleOptions } from './jobs/throttle.js';
export type { BackfillControl, BackfillOptions, BackfillProgress, BackfillResult } from './backfill/backfill.js';
export { BACKFILL_STATUSES } from './backfill/backfill-options.js';
export type { BackfillStatus } from './backfill/backfill-options.js';
export { checkKeyMappings } from './backfill/key-check.js';
export type { KeyMappings } from './backfill/key-check.js';
export { inWindow } from './jobs/pace.js';
export type { PaceOptions, PaceReason } from './jobs/pace.js';

// Verification
export { VERIFY_MODES } from './verify/verify-options.js';
export type { KeyList, RepairReport, SideReport, VerifyMode, VerifyOptions, VerifyProgress, VerifyReport } from './verify/verify-options.js';
export { formatVerifyReport, verifyExitCode } from './verify/report.js';
export { HASH_KINDS, canonicalEntity, canonicalJson, canonicalValue, entityHash } from './verify/canonical.js';
export type { HashKind } from './verify/canonical.js';

// Gates: the cutover checklist
export { GATES, GATES_INTO, checkGate, checkGates } from './migration/gates.js';
export type { Gate, GateCheck, GateThresholds, MigrationFacts, VerificationSummary } from './migration/gates.js';

// Config files (the CLI's)
export { CONFIG_FILES, defineConfig, loadConfig, resolveConfig } from './config/load-config.js';
export type { ResolvedConfig, ResolvedMigration, ResolvedStore } from './config/load-config.js';
export type { MidairConfig } from './config/config-schema.js';

// Control store
export { AUDIT_ACTIONS, INTENT_REASON, REPAIR_DIRECTIONS, STICKY_REPAIR_REASON } from './control/control-store.js';
export type {
  AuditAction,
  AuditEntry,
  AuditInput,
  ClaimOptions,
  ControlStore,
  DeadLetter,
  HeartbeatInput,
  InstanceInfo,
  ParkedRepair,
  PhaseSetting,
  PhaseState,
  RepairDirection,
  RangeLease,
  RepairEntry,
  RepairInput,
  RepairProblem,
} from './control/control-store.js';
export { INITIAL_SETTING, memoryControlStore } from './control/memory-control-store.js';
export type { MemoryControlStoreOptions } from './control/memory-control-store.js';
export { sqlControlStore } from './control/sql-control-store.js';
export type { SqlControlStoreOptions } from './control/sql-control-store.js';

// Adapters without a driver
export { memoryStore } from './memory/memory-store.js';
export type { MemoryStoreOptions } from './memory/memory-store.js';

// Migration
export { defineMigration, Migration } from './migration/migration.js';
export type { AutoHaltOptions, MigrationOptions, MigrationStats, RollbackResult, TransitionOptions } from './migration/migration.js';
export { LIFECYCLE_STATES } from './migration/lifecycle.js';
export type { LifecycleState } from './migration/lifecycle.js';
export type { RepairSettings } from './migration/repairer.js';
export { resetFactsForNew } from './migration/facts.js';
export type { QueryDefs, Repository } from './migration/repository.js';
export type { MigrationEventName, MigrationEvents } from './migration/events.js';
export type { ShadowOptions } from './migration/shadow.js';
export { HALT_TARGET, PHASE_RULES, PHASES, SIDES, crossesAuthority, nextPhase, previousPhase } from './core/phases.js';
export type { Phase, PhaseRules, Side } from './core/phases.js';

// For adapter authors
export { SqlDialect } from './sql/sql-dialect.js';
export type { ColumnInfo, TableInfo } from './sql/sql-catalog.js';
export type { ClassifiedError } from './sql/sql-errors.js';
export type { SqlConnection, SqlDriver, SqlResult, TransactionOptions } from './sql/sql-driver.js';
export { SqlStore } from './sql/sql-store.js';
export type { SqlStoreOptions } from './sql/sql-store.js';
