import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Codec } from '../mapping/codecs.js';
import type { ColumnSpec } from '../mapping/columns.js';
import { OrderKeys, type KeyPartKind } from './order-key.js';

type FieldOf<E> = keyof E & string;

/**
 * An entity as a Redis hash: `<prefix><key text>`, one hash field per entity
 * field, each through a codec (the `col.*` of SQL mappings; the column name
 * is the hash field's name). A composite key's text joins its parts with `:`.
 *
 * @example
 * ```ts
 * redisMapping<User>({
 *   prefix: 'user:',
 *   key: 'id',
 *   version: 'version',
 *   fields: { id: col.bigint('id'), email: col.text('email'), version: col.integer('version') },
 * });
 * ```
 */
export interface RedisMappingSpec<E> {
  /** The entity of key 42 is the hash `<prefix>42`. Not empty. */
  readonly prefix: string;
  readonly key: FieldOf<E> | readonly FieldOf<E>[];
  /** The field that only grows with every write; enables newer-wins writes. */
  readonly version?: FieldOf<E>;
  /** Every field of `E`, with its hash field name and codec. */
  readonly fields: { readonly [F in FieldOf<E>]-?: ColumnSpec<NonNullable<E[F]>> };
  /**
   * Where midair keeps its index, row hashes, tombstones and fences beside the
   * entities. Default `midair:{<prefix>}:` (the braces keep them in one
   * Redis Cluster slot).
   */
  readonly metaPrefix?: string;
}

export interface RedisField {
  readonly field: string;
  /** The hash field's name. */
  readonly name: string;
  readonly codec: Codec<never>;
}

/** A validated Redis mapping. */
export interface RedisMapping<E> {
  readonly spec: RedisMappingSpec<E>;
  readonly prefix: string;
  readonly keyFields: readonly string[];
  readonly versionField: string | undefined;
  /** Every field, in the order the store reads and writes them. */
  readonly fields: readonly RedisField[];
  /** The names of midair's own keys. */
  readonly keys: {
    readonly index: string;
    readonly meta: string;
    readonly tombs: string;
    readonly fences: string;
    readonly clock: string;
    readonly probe: string;
    readonly indexed: string;
  };
  readonly order: OrderKeys<Key>;
}

const KEY_KINDS: Readonly<Record<string, KeyPartKind>> = {
  integer: 'number',
  bigint: 'bigint',
  text: 'text',
  uuid: 'text',
};

/** Declares and validates an entity ↔ Redis hash mapping. */
export function redisMapping<E extends object>(spec: RedisMappingSpec<E>): RedisMapping<E> {
  const invalid = (what: string): MidairError => new MidairError('INVALID_ARGUMENT', `invalid Redis mapping: ${what}`);
  if (typeof spec.prefix !== 'string' || spec.prefix.length === 0)
    throw invalid('`prefix` is empty; give the text every entity key starts with, such as "user:"');
  if (/[*?[\]\\]/.test(spec.prefix))
    throw invalid('`prefix` holds a glob character (* ? [ ] \\), which SCAN MATCH would read as a pattern');
  const keyFields: string[] = typeof spec.key === 'string' ? [spec.key] : [...(spec.key as readonly string[])];
  if (keyFields.length === 0) throw invalid('`key` names no field');
  const entries = Object.entries(spec.fields as Record<string, ColumnSpec | undefined>);
  const fields: RedisField[] = [];
  const names = new Set<string>();
  for (const [field, c] of entries) {
    if (!c || typeof c.column !== 'string' || !c.codec)
      throw invalid(`field "${field}" has no column spec; map it with col.*`);
    if (c.table !== undefined)
      throw invalid(`field "${field}" is placed .in('${c.table}'); a Redis entity is one hash`);
    if (names.has(c.column)) throw invalid(`two fields are stored in the hash field "${c.column}"`);
    names.add(c.column);
    fields.push({ field, name: c.column, codec: c.codec });
  }
  const byField = new Map(fields.map((f) => [f.field, f]));
  const kinds = keyFields.map((k) => {
    const f = byField.get(k);
    if (!f) throw invalid(`key field "${k}" is not among \`fields\``);
    const kind = KEY_KINDS[f.codec.type];
    if (!kind)
      throw invalid(
        `key field "${k}" is mapped with ${f.codec.type}; key fields are col.integer, bigint, text or uuid`,
      );
    return kind;
  });
  if (spec.version !== undefined && !byField.has(spec.version))
    throw invalid(`version field "${spec.version}" is not among \`fields\``);
  const meta = spec.metaPrefix ?? `midair:{${spec.prefix}}:`;
  if (meta.length === 0) throw invalid('`metaPrefix` is empty');
  if (spec.prefix.startsWith(meta) || meta.startsWith(spec.prefix))
    throw invalid('`metaPrefix` and `prefix` overlap; midair keys would be read as entities');
  return Object.freeze({
    spec,
    prefix: spec.prefix,
    keyFields,
    versionField: spec.version,
    fields,
    keys: {
      index: `${meta}index`,
      meta: `${meta}meta`,
      tombs: `${meta}tombstones`,
      fences: `${meta}fences`,
      clock: `${meta}clock`,
      probe: `${meta}probe`,
      indexed: `${meta}indexed`,
    },
    order: new OrderKeys<Key>(kinds, `Redis store ${spec.prefix}`),
  });
}
