/**
 * A wait that would otherwise be silent — a key range another worker holds,
 * an instance that has not acknowledged the phase — said once, with who holds
 * it up and until when at most.
 */
export interface WaitNotice {
  /** What is waited for. */
  readonly on: 'range' | 'instance';
  /** The instance holding it up: the range's lease holder, or the instance behind. */
  readonly holder: string;
  /** Until when at most: when the lease runs out, or when the wait gives up. */
  readonly until: Date;
  /** Why, and for how long, in words (key ids and instance ids only, never a row value). */
  readonly message: string;
}

/** `in 28 s` from `now` to `until` (never negative). */
export function secondsUntil(until: Date, now: number): number {
  return Math.max(0, Math.ceil((until.getTime() - now) / 1000));
}
