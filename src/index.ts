/**
 * midair — zero-downtime data migrations for TypeScript.
 *
 * This entry is the application's API: define a migration over two stores,
 * serve through it, and walk it through its phases. The core is driver-free;
 * stores over a database come from `midair/postgres`, `midair/mysql` and
 * `midair/sqlite`. Writing a store, a control store or an SQL engine:
 * `midair/adapter`. The command line's config files: `midair/config`.
 */

// Defining and running a migration
export { defineMigration, Migration } from './migration/migration.js';
export type {
  AutoHaltOptions,
  MigrationOptions,
  MigrationStats,
  RollbackResult,
  TransitionOptions,
} from './migration/migration.js';
export type { QueryDefs, Repository } from './migration/repository.js';
export { lookup, type FieldLookup, type HandQuery } from './migration/lookups.js';
export type { MigrationEventName, MigrationEvents, ShadowCompared, StoreCall } from './migration/events.js';
export type { MetricsSource, MigrationMetrics } from './migration/metrics-port.js';
export type { WaitNotice } from './core/waits.js';
export type { RepairSettings } from './migration/repairer.js';
export type { ShadowOptions } from './migration/shadow.js';
export { LIFECYCLE_STATES } from './migration/lifecycle.js';
export { EVENT_LOG_LEVELS } from './migration/log-events.js';
export type { LogLevel, LogMethod, MidairLogger } from './migration/log-events.js';
export type { LifecycleState } from './migration/lifecycle.js';

// Webhooks: what a migration posts, and how a receiver checks it
export { WEBHOOK_EVENTS } from './hooks/webhook-types.js';
export type {
  PhaseSummary,
  WebhookBody,
  WebhookEvent,
  WebhookOptions,
  WebhookPayloads,
  WebhookSettings,
} from './hooks/webhook-types.js';
export { WEBHOOK_HEADERS, signWebhook, verifyWebhook } from './hooks/signature.js';

// Phases
export { HALT_TARGET, PHASE_RULES, PHASES, SIDES, crossesAuthority, nextPhase, previousPhase } from './core/phases.js';
export type { Phase, PhaseRules, Side } from './core/phases.js';
export type { PhaseSetting, PhaseState } from './control/control-store.js';

// Gates: the cutover checklist
export { GATES, GATES_INTO, checkGate, checkGates } from './migration/gates.js';
export type {
  CallKindFigures,
  CapacityBaseline,
  Gate,
  GateCheck,
  GateThresholds,
  MigrationFacts,
  SideFigures,
  VerificationSummary,
} from './migration/gates.js';

// Mapping entities to tables
export { col, compareKeyCodecs, sqlMapping } from './mapping/mapping.js';
export type { ColumnSpec, SqlMapping, SqlMappingSpec, TableMapping } from './mapping/mapping.js';
export type { CustomCodecSpec, DialectName, TimestampOptions } from './mapping/codecs.js';

// Entity values: keys, versions, exact JSON, comparing
export { keyId, parseKeyId } from './core/keys.js';
export type { Key, KeyPart } from './core/keys.js';
export type { Version } from './core/versions.js';
export { JSON_NULL, LosslessNumber, isLosslessNumber, jsonDecimal } from './core/json-value.js';
export type { JsonNull } from './core/json-value.js';
export { diffEntities, valuesEqual } from './core/compare.js';

// Stores without a driver
export { memoryStore } from './memory/memory-store.js';
export type { MemoryStoreOptions } from './memory/memory-store.js';
export type { CheckProblem, CheckProblemCode, CheckReport } from './core/check-report.js';
export type { Store } from './core/store.js';

// The control store: phase, audit log, fleet
export { memoryControlStore } from './control/memory-control-store.js';
export type { MemoryControlStoreOptions } from './control/memory-control-store.js';
export type {
  AuditAction,
  AuditEntry,
  CallFigures,
  ControlStore,
  InstanceInfo,
  ServedLatency,
  SideCalls,
  StoreCallFigures,
} from './control/control-store.js';

// Backfill
export type { BackfillControl, BackfillOptions, BackfillProgress, BackfillResult } from './backfill/backfill.js';
export type { RunProgress } from './jobs/run-progress.js';
export { BACKFILL_STATUSES } from './backfill/backfill-options.js';
export type { BackfillStatus } from './backfill/backfill-options.js';
export { checkKeyMappings } from './backfill/key-check.js';
export type { KeyMappings } from './backfill/key-check.js';
export { Throttle } from './jobs/throttle.js';
export type { ThrottleOptions } from './jobs/throttle.js';
export { inWindow } from './jobs/pace.js';
export type { PaceOptions, PaceReason, WaitedMs, WaitReason } from './jobs/pace.js';

// Verification
export { VERIFY_MODES } from './verify/verify-options.js';
export type {
  KeyList,
  RepairReport,
  SideReport,
  VerifyMode,
  VerifyOptions,
  VerifyProgress,
  VerifyReport,
} from './verify/verify-options.js';
export { formatVerifyReport, verifyExitCode } from './verify/report.js';

// Errors
export { ERROR_CODES, MidairError, safeError } from './core/errors.js';
export type { MidairErrorCode, MidairErrorDetails, SafeError } from './core/errors.js';
