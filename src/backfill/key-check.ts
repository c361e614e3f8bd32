import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { DialectName } from '../mapping/codecs.js';
import { compareKeyCodecs, roundTripKey, type SqlMapping } from '../mapping/mapping.js';
import type { CallOptions, Store } from '../core/store.js';

/** The two mappings of a migration, and the dialect new is written on (to read old's keys through new's codecs). */
export interface KeyMappings {
  readonly old: SqlMapping<never>;
  readonly new: SqlMapping<never>;
  readonly newDialect: DialectName;
}

/** How many of old's real keys are read through new's key codecs. */
const SAMPLE = 100;

/**
 * Refuses (SCHEMA_MISMATCH) unless old and new spell every key the same
 * way: the key codecs compared field by field, then a sample of old's real
 * keys read through new's key codecs must keep its key ids. Reads only; run
 * it before a backfill, a verification or a repair writes anything.
 */
export async function checkKeyMappings<K extends Key, E extends object>(
  mappings: KeyMappings,
  old: Store<K, E>,
  options: CallOptions = {},
): Promise<void> {
  const mismatches = compareKeyCodecs(mappings.old, mappings.new);
  if (mismatches.length > 0) {
    const m = mismatches[0] as (typeof mismatches)[number];
    throw new MidairError(
      'SCHEMA_MISMATCH',
      `old and new encode keys differently: ${mismatches.map((x) => x.why).join('; ')}. A key would be one row in old and another in new ` +
        `(a backfill would copy it, then prune it as a key old lacks); map key field "${m.field}" with the same codec on both sides. Nothing was written`,
      { details: { field: m.field } },
    );
  }
  for (const key of await old.sampleKeys(SAMPLE, options)) {
    let back: unknown;
    try {
      back = roundTripKey(key, mappings.new, mappings.newDialect);
    } catch (cause) {
      throw new MidairError(
        'SCHEMA_MISMATCH',
        `old's key ${keyId(key)} cannot be written through new's key codecs (${codecsOf(mappings)}); nothing was written`,
        { cause },
      );
    }
    if (keyId(back as Key) !== keyId(key)) {
      throw new MidairError(
        'SCHEMA_MISMATCH',
        `old's key ${keyId(key)} becomes ${keyId(back as Key)} through new's key codecs (${codecsOf(mappings)}): the two stores would hold it under different keys; nothing was written`,
      );
    }
  }
}

function codecsOf(m: KeyMappings): string {
  return m.new.keyFields
    .map(
      (f) =>
        `${f}: old ${m.old.tables[0].keyColumns.find((c) => c.field === f)?.codec.type ?? '?'}, new ${m.new.tables[0].keyColumns.find((c) => c.field === f)?.codec.type ?? '?'}`,
    )
    .join('; ');
}
