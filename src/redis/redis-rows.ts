import { entityHash } from '../core/canonical.js';
import { MidairError } from '../core/errors.js';
import type { RedisField } from './redis-mapping.js';

/** A field's value as Redis takes it, or `null` for none. */
export type Cell = Buffer | string | null;

const NONE: ReadonlySet<string> = new Set();

/**
 * Entities to and from a Redis hash's values, field by field through the
 * SQL mapping's codecs in their text forms (those SQLite stores): integers
 * in decimal, booleans `1`/`0`, instants as ISO text with microseconds,
 * JSON as text, bytes as they are.
 */
export class RedisRows<E extends object> {
  readonly #fields: readonly RedisField[];
  readonly #where: string;

  constructor(fields: readonly RedisField[], where: string) {
    this.#fields = fields;
    this.#where = where;
  }

  /** Each field's cell, in the mapping's order. */
  encode(entity: E): Cell[] {
    const record = entity as Record<string, unknown>;
    return this.#fields.map(({ field, codec }) => {
      const value = record[field];
      if (value === null || value === undefined) return null;
      const raw = codec.encode(value as never, 'sqlite');
      if (typeof raw === 'string' || Buffer.isBuffer(raw)) return raw;
      if (typeof raw === 'number' || typeof raw === 'bigint') return raw.toString();
      if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      throw new MidairError(
        'ENCODING',
        `${this.#where}: the ${codec.type} codec of field "${field}" made a value Redis cannot hold (text, a number or bytes)`,
      );
    });
  }

  /** The entity of one hash's cells (`null` where a field is absent). */
  decode(cells: readonly (Buffer | null | undefined)[]): E {
    const out: Record<string, unknown> = {};
    this.#fields.forEach(({ field, codec }, i) => {
      const cell = cells[i];
      if (cell === null || cell === undefined) {
        out[field] = null;
        return;
      }
      try {
        out[field] = codec.decode(cell, 'sqlite');
      } catch (error) {
        throw new MidairError('ENCODING', `${this.#where}: field "${field}" does not decode as ${codec.type}`, {
          cause: error,
        });
      }
    });
    return out as E;
  }

  /**
   * The canonical row hash (verification's) of what `cells` hold, as 15 hex
   * digits: of the entity read back from them, so a codec that normalises
   * (a uuid's case, a decimal's zeros) hashes what the store holds.
   */
  rowHash(cells: readonly Cell[]): string {
    const entity = this.decode(cells.map((c) => (c === null ? null : Buffer.isBuffer(c) ? c : Buffer.from(c))));
    return entityHash(entity, NONE).toString(16).padStart(15, '0');
  }
}
