import { MidairError } from './errors.js';

/**
 * An entity version: an integer bumped by every write, or a timestamp
 * (a `Date`, or a canonical UTC ISO string with microseconds as produced by
 * the `timestamptz` codec in string mode). Versions only grow.
 */
export type Version = number | bigint | Date | string;

/**
 * Orders two versions of the same field. Mixed number/bigint compare
 * numerically; strings compare as canonical UTC ISO timestamps.
 *
 * @example compareVersions(3, 4n) < 0 // true
 */
export function compareVersions(a: Version, b: Version): number {
  if (a instanceof Date || b instanceof Date) {
    const x = a instanceof Date ? a.getTime() : toMillis(a);
    const y = b instanceof Date ? b.getTime() : toMillis(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'string' || typeof b === 'string') {
    throw new MidairError('INVALID_ARGUMENT', 'cannot compare a timestamp version with an integer version');
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function toMillis(v: Exclude<Version, Date>): number {
  if (typeof v === 'string') return Date.parse(v);
  return Number(v);
}

/** Checks that a value can serve as a version. */
export function isVersion(v: unknown): v is Version {
  return (
    (typeof v === 'number' && Number.isFinite(v)) ||
    typeof v === 'bigint' ||
    (v instanceof Date && !Number.isNaN(v.getTime())) ||
    typeof v === 'string'
  );
}
