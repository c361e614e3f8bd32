import type { SparseBuckets } from '../core/latency-buckets.js';

/** The latency of the calls an instance served over its recent window (about a second). */
export interface ServedLatency {
  /** The window's 99th percentile, ms. */
  readonly p99Ms: number;
  /** How many calls the window holds. */
  readonly count: number;
}

/** One kind of call (reads or writes) on one store, as one instance counted them. */
export interface CallFigures {
  readonly calls: number;
  /** Calls that failed because the store could not serve them (see docs/decisions/0021). */
  readonly errors: number;
  /** The latencies of all `calls` (failed ones too), on the scale of core/latency-buckets.ts. */
  readonly buckets: SparseBuckets;
}

/** One store's calls, reads and writes apart: each store's p99 is compared at the same mix of the two. */
export interface SideCalls {
  /** get, readKey, list and shadow reads. */
  readonly reads: CallFigures;
  /** put, delete, update, second writes (sync) and strict writes. */
  readonly writes: CallFigures;
}

/**
 * The calls an instance made on each store for the application since it
 * began serving phase version `phaseVersion` (reads, writes, second writes,
 * shadow reads; not jobs): what the capacity gate merges over the fleet.
 */
export interface StoreCallFigures {
  readonly phaseVersion: number;
  readonly old: SideCalls;
  readonly new: SideCalls;
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
  /**
   * The latency of the writes it served lately (the repository's calls, from
   * call to answer), as its last heartbeat reported it; absent when it served
   * none in that window, or runs a midair that does not report it. Jobs pace
   * themselves on it (a backfill's `servedLatencyFactor`); nothing safe rests on it.
   */
  readonly servedWrites?: ServedLatency | undefined;
  /**
   * Its calls on each store in the phase version it serves, as its last
   * heartbeat reported them; absent from a midair that does not report them
   * (or whose figures this one cannot read).
   */
  readonly storeCalls?: StoreCallFigures | undefined;
  readonly lastSeen: Date;
  readonly startedAt: Date;
}

export type HeartbeatInput = Omit<InstanceInfo, 'lastSeen' | 'startedAt'>;

/** The fleet: one heartbeat per live application instance. */
export interface Fleet {
  heartbeat(info: HeartbeatInput): Promise<void>;
  /** Instances whose last heartbeat is at or after `since`. */
  instances(migration: string, since: Date): Promise<InstanceInfo[]>;
  /**
   * Removes the instance's heartbeat (a clean stop, or `midair fleet evict`)
   * and, in the same step, its shadow counters: the gates sum only live
   * instances' counters, so a removed instance's are never read again (a
   * process still running comes back with its next heartbeat, and its counts
   * with its next save).
   */
  removeInstance(migration: string, instanceId: string): Promise<void>;
}
