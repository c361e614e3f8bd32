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

/** The durable repair queue: keys to re-sync, by direction, and the repairs parked after their retries. */
export interface RepairQueue {
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
  repairDepth(
    migration: string,
    direction?: RepairDirection,
    options?: { readonly excludeReasons?: readonly string[] },
  ): Promise<number>;
  /** Moves the entry to the parked list iff its seq is still `seq`. Resolves whether it did. */
  parkRepair(
    migration: string,
    direction: RepairDirection,
    keyId: string,
    seq: number,
    problem: RepairProblem,
  ): Promise<boolean>;
  /** Parked repairs, oldest first. */
  parkedRepairs(migration: string, options?: { readonly limit?: number }): Promise<ParkedRepair[]>;
  parkedCount(migration: string): Promise<number>;
  /** Puts parked keys (all, without `keyIds`) back in the pending queue, due at once. Resolves how many. */
  retryParked(migration: string, keyIds?: readonly string[]): Promise<number>;
  /** Drops parked keys the operator accepted (the caller writes the audit entry). Resolves how many. */
  resolveParked(migration: string, keyIds: readonly string[]): Promise<number>;
}
