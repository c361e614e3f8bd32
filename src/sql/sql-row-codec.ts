import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { Version } from '../core/versions.js';
import { codecs, type DialectName } from '../mapping/codecs.js';
import type { MappedField, MappedTable, SqlMapping } from '../mapping/mapping.js';

/** Columns midair adds to the tombstone table beside the key columns. */
export const TOMBSTONE_VERSION_COLUMN = 'midair_version';
export const TOMBSTONE_DELETED_AT_COLUMN = 'midair_deleted_at';

export const deletedAtCodec = codecs.timestamptz({ as: 'date' });
export const deletedAtField: MappedField = {
  field: 'deletedAt',
  column: TOMBSTONE_DELETED_AT_COLUMN,
  codec: deletedAtCodec as never,
  isKey: false,
};

/** An entity ready to write: its key, version and every field encoded. */
export interface Prepared<K> {
  readonly key: K;
  readonly id: string;
  readonly version: Version | undefined;
  /** Per table, per field: the encoded value (null for none). */
  readonly cells: readonly (readonly unknown[])[];
  /** Instead of cells: the row as a binary COPY tuple of a table with the same column types (same-engine copies). */
  readonly tuple?: Buffer;
}

/** Entities to rows and rows back, by the mapping's codecs: no SQL, no I/O. */
export class RowCodec<K extends Key, E extends object> {
  readonly #mapping: SqlMapping<E>;
  readonly #primary: MappedTable;
  readonly #dialect: DialectName;
  readonly #store: string;
  readonly #keyOf: (entity: E) => K;
  readonly #versionOf: (entity: E) => Version | undefined;

  constructor(
    mapping: SqlMapping<E>,
    dialect: DialectName,
    store: string,
    keyOf: (entity: E) => K,
    versionOf: (entity: E) => Version | undefined,
  ) {
    this.#mapping = mapping;
    this.#primary = mapping.tables[0];
    this.#dialect = dialect;
    this.#store = store;
    this.#keyOf = keyOf;
    this.#versionOf = versionOf;
  }

  /** An entity from a row of the mapping's select list. */
  decode(row: readonly unknown[]): E {
    const entity: Record<string, unknown> = {};
    const fields = this.#mapping.selectFields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i] as MappedField;
      const raw = row[i];
      entity[f.field] = raw === null || raw === undefined ? null : f.codec.decode(raw, this.#dialect);
    }
    return entity as E;
  }

  /** The key whose columns start at `offset` of the row. */
  decodeKey(row: readonly unknown[], offset = 0): K {
    const parts = this.#primary.keyColumns.map(
      (f, i) => f.codec.decode(row[offset + i] as never, this.#dialect) as unknown,
    );
    return (parts.length === 1 ? parts[0] : parts) as K;
  }

  /** A version cell (`undefined` for none). */
  decodeVersion(field: MappedField | undefined, raw: unknown): Version | undefined {
    return raw === null || raw === undefined || !field ? undefined : field.codec.decode(raw, this.#dialect);
  }

  decodeDeletedAt(raw: unknown): Date {
    return deletedAtCodec.decode(raw, this.#dialect) as Date;
  }

  /** Every field encoded now, so a value that cannot be stored fails before anything is written. */
  prepare(entities: readonly E[]): Prepared<K>[] {
    return entities.map((entity) => {
      const key = this.#keyOf(entity);
      const version = this.#versionOf(entity);
      const cells = this.#mapping.tables.map((table) =>
        table.fields.map((f) => {
          const v = (entity as Record<string, unknown>)[f.field];
          if (v === null || v === undefined) return null;
          try {
            return f.codec.encode(v as never, this.#dialect);
          } catch (err) {
            throw new MidairError(
              'ENCODING',
              `field "${f.field}" of key ${keyId(key)} cannot be stored in ${table.table}.${f.column}`,
              {
                cause: err,
                details: { store: this.#store, field: f.field, table: table.table, column: f.column },
              },
            );
          }
        }),
      );
      return { key, id: keyId(key), version, cells };
    });
  }

  /** `value` prepared as the row of `key`; INVALID_ARGUMENT when the source handed back another key's entity. */
  prepareFor(key: K, value: E, operation: string): Prepared<K> {
    const [prepared] = this.prepare([value]);
    if (!prepared || prepared.id !== keyId(key)) {
      throw new MidairError(
        'INVALID_ARGUMENT',
        `${operation} on ${this.#store}: the source returned an entity of another key`,
      );
    }
    return prepared;
  }
}
