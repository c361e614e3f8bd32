/**
 * midair/adapter — for authors of stores, control stores, SQL dialects and
 * drivers: the contracts the conformance suites hold an adapter to, and the
 * helpers that decide what an adapter must agree with (write decisions, key
 * order, canonical hashing).
 *
 * Applications import from `midair` and an engine entry (`midair/postgres`,
 * `midair/mysql`, `midair/sqlite`) instead.
 */

// Errors an adapter raises
export { ERROR_CODES, MidairError, PartialSyncError, describeFailure } from './core/errors.js';
export type { MidairErrorCode, MidairErrorDetails } from './core/errors.js';

// Keys and versions: the order a store scans in, and what a newer write is
export { compareKeys, keyId, parseKeyId } from './core/keys.js';
export type { Key, KeyPart } from './core/keys.js';
export { compareVersions } from './core/versions.js';
export type { Version } from './core/versions.js';

// The Store contract, and its optional capabilities
export { hasManyOf, scanKeysOf } from './core/store.js';
export type {
  BulkCopy,
  BulkWriteResult,
  CallOptions,
  CommitProbe,
  DeleteOptions,
  DirectPatch,
  DirectWrite,
  Fence,
  Fencing,
  HashPushdown,
  KeyRange,
  KeyReads,
  KeyState,
  Lookups,
  PairHash,
  PutOptions,
  RangeHash,
  ScanOptions,
  Store,
  SyncManyResult,
  SyncResult,
  Tombstone,
  UpdateResult,
} from './core/store.js';
export { CHECK_PROBLEM_CODES } from './core/check-report.js';
export { foreignKeyProblems } from './core/foreign-key-advice.js';
export type { CheckProblem, CheckProblemCode, CheckReport, ForeignKeyRef, UniqueFields } from './core/check-report.js';
export { decideWrite } from './core/entity.js';
export { matchesFields, sameFieldValue } from './core/lookup.js';
export type { EntityShape, WriteDecision } from './core/entity.js';

// Canonical hashing: a store's range hashes must match these
export { HASH_KINDS, canonicalEntity, canonicalJson, canonicalValue, entityHash } from './core/canonical.js';
export type { HashKind } from './core/canonical.js';

// Codecs: how a field is written, read and hashed in each dialect
export { COLUMN_FAMILIES, DIALECTS, canonicalDecimal, codecs } from './mapping/codecs.js';
export type { Codec, ColumnFamily, CustomCodecSpec, DialectName, TimestampOptions } from './mapping/codecs.js';
export type { MappedField, MappedTable } from './mapping/mapping.js';

// The control store contract
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
  RangeLease,
  RepairDirection,
  RepairEntry,
  RepairInput,
  RepairProblem,
  ServedLatency,
} from './control/control-store.js';
export { INITIAL_SETTING } from './control/memory-control-store.js';
export { sqlControlStore } from './control/sql-control-store.js';
export type { SqlControlStoreOptions } from './control/sql-control-store.js';

// SQL engines: a dialect and a driver make a store and a control store
export { SqlDialect } from './sql/sql-dialect.js';
export type { ColumnInfo, TableInfo } from './sql/sql-catalog.js';
export type { ClassifiedError } from './sql/sql-errors.js';
export type { SqlConnection, SqlDriver, SqlResult, TransactionOptions } from './sql/sql-driver.js';
export { SqlStore } from './sql/sql-store.js';
export type { SqlStoreOptions } from './sql/sql-store.js';
