/** The latency of the calls an instance served over its recent window (about a second). */
export interface ServedLatency {
  /** The window's 99th percentile, ms. */
  readonly p99Ms: number;
  /** How many calls the window holds. */
  readonly count: number;
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
