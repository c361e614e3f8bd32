import type { Key } from './keys.js';
import type { Version } from './versions.js';

/**
 * Fencing: the migration and the phase-state version (epoch) a write was
 * issued under. A store that holds a fence for the migration refuses, with
 * `FENCED`, a write whose epoch is below it — checked in the write's own
 * transaction, so an instance paused for any length of time cannot land a
 * write the fleet has moved past (docs/decisions/0007).
 */
export interface Fence {
  readonly migration: string;
  readonly epoch: number;
}

/** Options every store call accepts. */
export interface CallOptions {
  /** Aborts the call: checked before each statement, and passed to drivers that honour it. */
  readonly signal?: AbortSignal;
  /** Writes only: refuse (FENCED, nothing written) when the store's fence for `fence.migration` is above `fence.epoch`. Reads ignore it. */
  readonly fence?: Fence;
  /**
   * Writes only: a second fence, a job's lease on the range it writes (its
   * name from {@link leaseFenceName}, its epoch the lease's token). Refused
   * the same way as `fence`, checked with it where the write lands, so a
   * worker whose range was handed to another cannot write after the new
   * holder raised it.
   */
  readonly lease?: Fence;
}

/** A range of the key space in a store's own order: after `after` (exclusive) up to `through` (inclusive); an absent bound is open. */
export interface KeyRange<K extends Key = Key> {
  readonly after?: K | undefined;
  readonly through?: K | undefined;
  /**
   * Enclosing ranges the keys must also fall in (each in this store's own
   * order). Verification narrows a range by another store's keys; where two
   * engines order text keys differently, this keeps each part inside its
   * parent on both sides.
   */
  readonly within?: readonly { readonly after?: K | undefined; readonly through?: K | undefined }[] | undefined;
}

/** How many entities a range holds, and the sum of their 60-bit row hashes (verification). */
export interface RangeHash {
  readonly count: number;
  readonly sum: bigint;
}

/** A record that a key was deleted while the migration runs. */
export interface Tombstone<K extends Key = Key> {
  readonly key: K;
  /** The version the delete carried (versioned stores), so only newer writes may pass it. */
  readonly version?: Version | undefined;
  readonly deletedAt: Date;
}

/** A write the application would make itself, where nothing else writes the store. */
export interface DirectWrite {
  /**
   * A direct write: the application's own statement, for a store no midair
   * writer syncs into while the call may land (the authority in `old-only`).
   * It takes no key lock and leaves tombstones alone: a direct put keeps an
   * existing tombstone, a direct delete leaves none. The fence still holds
   * (checked in the same statement where the engine can). Stores that
   * cannot write directly take their usual path.
   */
  readonly direct?: boolean;
}

export interface DeleteOptions extends CallOptions, DirectWrite {
  /** Leave a tombstone so a conditional write cannot bring the key back. Default true. */
  readonly tombstone?: boolean;
  /**
   * Conditional delete (versioned stores): delete only if the stored version
   * is not newer than this one. The tombstone records the greater version.
   */
  readonly version?: Version;
}

export interface PutOptions extends CallOptions, DirectWrite {
  /** Keep an existing tombstone for the key instead of clearing it. Default false. */
  readonly keepTombstone?: boolean;
}

export interface ScanOptions<K extends Key = Key> extends CallOptions, Pick<KeyRange<K>, 'within'> {
  /** Resume after this key (exclusive). */
  readonly after?: K | undefined;
  /** Stop after this key (inclusive): with `after`, one range `(after, through]` of the key space. */
  readonly through?: K | undefined;
  /** Entities per chunk. Default 1000. */
  readonly chunkSize?: number;
}

/** A key's state in one store at one instant: a row, a tombstone, or neither (never written there while the migration ran). */
export interface KeyState<K extends Key, E> {
  readonly entity?: E | undefined;
  readonly tombstone?: Tombstone<K> | undefined;
}

/** What a conditional bulk write did, entity by entity, summed. */
export interface BulkWriteResult {
  /** Absent and not tombstoned: inserted. */
  readonly inserted: number;
  /** Present with an older version: overwritten. */
  readonly updated: number;
  /** Present and not older (or the store is unversioned): left alone. */
  readonly skippedExisting: number;
  /** A tombstone at least as new as the incoming entity: left deleted. */
  readonly skippedTombstoned: number;
}

/** What a sync did: wrote the source's entity, deleted a row the source no longer has, or found nothing on either side. */
export type SyncResult = 'put' | 'deleted' | 'absent';

/** What an {@link Store.updateKey} did: as a sync, or left the key as it was. */
export type UpdateResult = SyncResult | 'unchanged';

/** What a {@link Store.syncMany} did, key by key, summed. */
export interface SyncManyResult {
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  /** Absent on both sides, or left alone (`null`). */
  readonly unchanged: number;
}
