import { MidairError } from './errors.js';
import { assertKey, type Key } from './keys.js';
import { compareVersions, isVersion, type Version } from './versions.js';

/** Which fields of an entity form its key and its version. */
export interface EntityShape<E> {
  readonly key: (keyof E & string) | readonly (keyof E & string)[];
  readonly version?: keyof E & string;
}

/** Builds the key extractor for a list of key fields: a scalar for one field, a tuple for several. */
export function keyReader<K extends Key, E extends object>(
  keyFields: readonly string[],
  where: string,
): (entity: E) => K {
  const arity = keyFields.length;
  const one = keyFields[0] as string;
  return (entity: E): K => {
    const rec = entity as Record<string, unknown>;
    const key = arity === 1 ? rec[one] : keyFields.map((f) => rec[f]);
    assertKey(key, arity, where);
    return key as K;
  };
}

/** Reads and validates the version field, if any. */
export function versionReader<E extends object>(versionField: string | undefined): (entity: E) => Version | undefined {
  if (versionField === undefined) return () => undefined;
  return (entity: E) => {
    const v = (entity as Record<string, unknown>)[versionField];
    if (!isVersion(v)) {
      throw new MidairError(
        'INVALID_ARGUMENT',
        `entity has no usable version in field "${versionField}" (an integer, bigint or timestamp)`,
        {
          details: { field: versionField },
        },
      );
    }
    return v;
  };
}

export const WRITE_DECISIONS = ['insert', 'update', 'skippedExisting', 'skippedTombstoned'] as const;
export type WriteDecision = (typeof WRITE_DECISIONS)[number];

/**
 * The rule of the conditional write, shared by every adapter: insert where
 * absent; overwrite only where the incoming version is newer; never pass a
 * tombstone unless the incoming version is newer than the delete's (an
 * unversioned tombstone is never passed).
 */
export function decideWrite(
  incoming: Version | undefined,
  existing: { readonly version: Version | undefined } | undefined,
  tombstone: { readonly version?: Version | undefined } | undefined,
): WriteDecision {
  if (existing) {
    if (incoming === undefined || existing.version === undefined) return 'skippedExisting';
    return compareVersions(incoming, existing.version) > 0 ? 'update' : 'skippedExisting';
  }
  if (tombstone) {
    if (incoming === undefined || tombstone.version === undefined) return 'skippedTombstoned';
    return compareVersions(incoming, tombstone.version) > 0 ? 'insert' : 'skippedTombstoned';
  }
  return 'insert';
}

/** For a conditional delete: may a delete carrying `version` remove a row at `existing`? */
export function deleteAllowed(version: Version | undefined, existing: Version | undefined): boolean {
  return version === undefined || existing === undefined || compareVersions(existing, version) <= 0;
}

/** The greater of two optional versions. */
export function maxVersion(a: Version | undefined, b: Version | undefined): Version | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareVersions(a, b) >= 0 ? a : b;
}
