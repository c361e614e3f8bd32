/**
 * One range of the key space, leased to one backfill worker at a time.
 * Bounds are key ids: `lo` exclusive, `hi` inclusive, absent for an open end.
 */
export interface RangeLease {
  readonly rangeId: number;
  readonly lo?: string | undefined;
  readonly hi?: string | undefined;
  /** Progress: the last key copied in this range. */
  readonly after?: string | undefined;
  readonly owner?: string | undefined;
  /** Fencing token: a new one with every claim; only its holder may renew or complete the range. */
  readonly token: number;
  readonly leasedUntil: Date;
  readonly complete: boolean;
}

/** A job's key space (a backfill's, a verification's) as ranges leased to its workers, by the job's name. */
export interface RangeLeases {
  /** Creates a backfill's ranges unless they exist; resolves whether this call created them (one creator wins a race). */
  createRanges(
    migration: string,
    name: string,
    ranges: readonly { readonly lo?: string | undefined; readonly hi?: string | undefined }[],
  ): Promise<boolean>;
  /** Leases an unfinished range whose lease is free or expired, with a new token; `undefined` when none is free. */
  claimRange(migration: string, name: string, owner: string, leaseMs: number): Promise<RangeLease | undefined>;
  /** Extends the lease and records progress; false when the token no longer holds it (another worker took it over). */
  renewRange(
    migration: string,
    name: string,
    rangeId: number,
    token: number,
    leaseMs: number,
    after?: string,
  ): Promise<boolean>;
  /** Marks the range done; false when the token no longer holds it. */
  completeRange(migration: string, name: string, rangeId: number, token: number): Promise<boolean>;
  ranges(migration: string, name: string): Promise<RangeLease[]>;
  dropRanges(migration: string, name: string): Promise<void>;
}
