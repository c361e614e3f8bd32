import type { PhaseState, RepairDirection } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { Fence, Store } from '../core/store.js';
import type { TypedEvents } from './events.js';
import type { Side } from '../core/phases.js';
import type { FieldLookup, HandQuery } from './lookups.js';

/** Named non-key queries: a lookup declared from the mapping (`lookup('email')`), or how to answer it on each side. */
export type QueryDefs<E> = Readonly<Record<string, FieldLookup<E> | HandQuery<E>>>;

/** A write in progress, counted so the instance acknowledges a new phase only once older writes finished. */
export interface WriteTicket {
  readonly state: PhaseState;
  readonly end: () => void;
}

/** The two stores and how to call them. */
export interface RepositoryStores<K extends Key, E extends object> {
  readonly name: string;
  readonly old: Store<K, E>;
  readonly new: Store<K, E>;
  readonly lazy: boolean;
  readonly queries: QueryDefs<E> | undefined;
  /** Runs `fn` with the per-call timeout. */
  timed<T>(operation: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** The phase a call is served under, and the write tickets. */
export interface Serving {
  /** The phase to serve with; refreshes first when this instance's view may be stale. */
  currentState(): Promise<PhaseState>;
  /** Waits out a cutover freeze, then counts a write under the current phase. */
  beginWrite(): Promise<WriteTicket>;
  /**
   * Whether a call that began under `state` may still complete: the fleet is
   * at most one version ahead and the same store is authoritative. Fails for
   * an instance that was paused past its expiry while the fleet moved on.
   */
  stillValid(state: PhaseState): boolean | Promise<boolean>;
  inRamp(keyId: string, percent: number): boolean;
  /** The fence every store write issued under `state` carries. */
  fence(state: PhaseState): Fence;
}

/** The repair queue, as the write and read paths use it. */
export interface RepairLog {
  /** Whether the key waits for a repair in that direction (the target store may be stale). */
  hasPendingRepair(keyId: string, direction: RepairDirection): Promise<boolean>;
  /**
   * Records, before the first of two writes, that the key is being written
   * (a repair entry due only later); resolves its seq. Throws — and the write
   * must not start — when the queue cannot be written.
   */
  recordIntent(keyId: string, state: PhaseState): Promise<number>;
  /** The second write landed: drops the intent unless a newer entry replaced it (best effort, in the background). */
  completeIntent(keyId: string, state: PhaseState, seq: number): void;
  /**
   * Queues a key for repair, due at once; never throws (an intent already
   * queued covers a failure here). `mayLand`: a write issued under `state`
   * may still land, so the entry is kept until that version is fenced out.
   */
  enqueueRepair(keyId: string, reason: string, state: PhaseState, mayLand?: boolean): Promise<void>;
}

/** What happens beside an answer: health counts, comparisons, lazy copies, background work. */
export interface Sidelines<K extends Key, E extends object> {
  /** A call on the non-authoritative store succeeded or failed (auto-halt's error rate). */
  recordSecondary(ok: boolean): void;
  /** Compares the answer with the other store, off the hot path. */
  shadow(key: K, answer: E | undefined, servedFrom: Side, state: PhaseState): void;
  /** Copies the key into `into` if absent there (insert-if-absent, never over a tombstone), fenced by `state`. */
  lazyCopy(key: K, into: Side, state: PhaseState): Promise<void>;
  /** Keeps background work (second writes, comparisons) tracked until it settles. */
  track(work: Promise<unknown>): void;
}

/** Everything the repository needs from its migration instance (internal). */
export interface RepositoryPorts<K extends Key, E extends object> {
  readonly stores: RepositoryStores<K, E>;
  readonly serving: Serving;
  readonly repairs: RepairLog;
  readonly sidelines: Sidelines<K, E>;
  readonly events: TypedEvents;
  /** Records how long a served write took, from call to answer (the heartbeat reports the recent p99). */
  readonly servedWrite: (ms: number) => void;
  close(): Promise<void>;
}
