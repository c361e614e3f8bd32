import { diffEntities } from '../core/compare.js';

/** How shadow reads compare the two stores' answers. */
export interface ShadowOptions<E> {
  /** Share of reads compared, 0–1. Default 1. */
  readonly sampleRate?: number;
  /** Fields left out of the comparison (e.g. columns only one side has). */
  readonly ignoreFields?: readonly string[];
  /** Maps an entity to the form compared (e.g. trim, round timestamps). */
  readonly normalize?: (entity: E) => object;
  /** Replaces the field-by-field comparison; returns the names of differing fields. */
  readonly compare?: (oldEntity: E, newEntity: E) => readonly string[];
  /** Put both entities into mismatch events. Off by default: they are users' data. */
  readonly includeValues?: boolean;
  /** A mismatch is re-read after this delay and reported only if it persists (live writes cause false ones). Default 50 ms; 0 disables. */
  readonly recheckMs?: number;
  /** Comparisons in flight at most; beyond, reads are not compared (counted as dropped). Default 64. */
  readonly maxInFlight?: number;
}

/** The field names that differ between two answers; `['*']` when only one side has the entity. */
export function compareAnswers<E extends object>(
  a: E | undefined,
  b: E | undefined,
  options: ShadowOptions<E>,
): readonly string[] {
  if (a === undefined || b === undefined) return a === b ? [] : ['*'];
  if (options.compare) return options.compare(a, b);
  const na = options.normalize ? options.normalize(a) : a;
  const nb = options.normalize ? options.normalize(b) : b;
  return diffEntities(na, nb, new Set(options.ignoreFields ?? []));
}

/** A stable 32-bit hash (FNV-1a) of a key id, for the ramp's key buckets. */
export function rampBucket(migration: string, keyId: string): number {
  let h = 0x811c9dc5;
  const s = `${migration}\u0000${keyId}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 10_000;
}
