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
  /** The rows its holders copied, counted with each renewal that held the token: a lost lease's last step is not counted. */
  readonly rows: number;
}

/** Which range to claim, and what its new token must exceed. */
export interface RangeClaim {
  readonly rangeId?: number | undefined;
  readonly above?: number | undefined;
}

/** A range's next token: above its last one and above `above`. */
export function nextToken(last: number, above: number | undefined): number {
  return Math.max(last, above ?? 0) + 1;
}

/** A job's key space (a backfill's, a verification's) as ranges leased to its workers, by the job's name. */
export interface RangeLeases {
  /** Creates a backfill's ranges unless they exist; resolves whether this call created them (one creator wins a race). */
  createRanges(
    migration: string,
    name: string,
    ranges: readonly { readonly lo?: string | undefined; readonly hi?: string | undefined }[],
  ): Promise<boolean>;
  /**
   * Leases an unfinished range whose lease is free or expired (with `rangeId`,
   * that range only), with a new token; `undefined` when none is free. Tokens
   * only grow: the new one is one above the range's last and above `above`
   * (a fence the writes of an earlier holder may carry).
   */
  claimRange(
    migration: string,
    name: string,
    owner: string,
    leaseMs: number,
    options?: RangeClaim,
  ): Promise<RangeLease | undefined>;
  /**
   * Extends the lease and records progress (the last key, and `rows` more
   * rows copied); false, recording nothing, when the token no longer holds it
   * (another worker took it over).
   */
  renewRange(
    migration: string,
    name: string,
    rangeId: number,
    token: number,
    leaseMs: number,
    after?: string,
    rows?: number,
  ): Promise<boolean>;
  /** Marks the range done, with `rows` more rows copied; false, recording nothing, when the token no longer holds it. */
  completeRange(migration: string, name: string, rangeId: number, token: number, rows?: number): Promise<boolean>;
  ranges(migration: string, name: string): Promise<RangeLease[]>;
  dropRanges(migration: string, name: string): Promise<void>;
}
