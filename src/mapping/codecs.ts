import { MidairError } from '../core/errors.js';
import type { HashKind } from '../core/canonical.js';
import {
  canonicalWall,
  dateFromInstant,
  epochSecondsToInstant,
  epochSecondsToMs,
  formatDate,
  formatInstant,
  instantFromDate,
  instantToEpochSeconds,
  parseInstant,
  parseInstantMs,
} from './instant.js';
import { parseJson, stringifyJson } from '../core/json-value.js';

export const DIALECTS = ['postgres', 'mysql', 'sqlite'] as const;
export type DialectName = (typeof DIALECTS)[number];

/** What a live column can hold, as introspection classifies it. */
export const COLUMN_FAMILIES = [
  'int32',
  'int64',
  'numeric',
  'float',
  'text',
  'boolean',
  'timestamptz',
  'timestamp',
  'date',
  'json',
  'bytes',
  'uuid',
  'other',
] as const;
export type ColumnFamily = (typeof COLUMN_FAMILIES)[number];

/**
 * Converts one entity field to and from a database column. `null` never
 * reaches a codec: NULL and `null` map to each other outside it.
 *
 * Drivers hand codecs text for most types (midair asks them not to parse), or
 * native values (SQLite's numbers, bigints and buffers); `decode` takes either.
 */
export interface Codec<T = unknown> {
  /** A short name for messages: `bigint`, `timestamptz`, `custom:money`. */
  readonly type: string;
  encode(value: T, dialect: DialectName): unknown;
  decode(raw: unknown, dialect: DialectName): T;
  /** Wraps the (quoted) column in a SELECT, e.g. `UNIX_TIMESTAMP(col)`. */
  readExpr?(column: string, dialect: DialectName): string;
  /** Wraps the placeholder in an INSERT/UPDATE, e.g. `FROM_UNIXTIME(?)`. */
  writeExpr?(placeholder: string, dialect: DialectName): string;
  /** Column families able to hold the field without loss, per dialect. */
  accepts(dialect: DialectName): readonly ColumnFamily[];
  /**
   * What a column of an accepted type still loses of the field's values, in
   * plain words (`check()` reports it as a warning); `undefined`: nothing.
   */
  loses?(column: { readonly type: string; readonly family: ColumnFamily }, dialect: DialectName): string | undefined;
  /**
   * How verification writes the value in its canonical form, so a database
   * can hash the column itself. Absent (custom codecs): that store hashes
   * decoded entities in JS instead.
   */
  readonly hashAs?: HashKind;
}

function bad(type: string, raw: unknown): MidairError {
  // Never include the value itself: it may be personal data.
  return new MidairError('ENCODING', `cannot decode a ${raw === null ? 'null' : typeof raw} value as ${type}`);
}

function asText(raw: unknown, type: string): string {
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  if (typeof raw === 'number' || typeof raw === 'bigint') return raw.toString();
  throw bad(type, raw);
}

const integer: Codec<number> = {
  type: 'integer',
  encode(value) {
    if (!Number.isSafeInteger(value))
      throw new MidairError(
        'ENCODING',
        'an integer field holds a value that is not a safe integer; map it with col.bigint',
      );
    return value;
  },
  decode(raw) {
    const n = typeof raw === 'number' ? raw : Number(asText(raw, 'integer'));
    if (!Number.isSafeInteger(n))
      throw new MidairError('ENCODING', 'a column value is beyond 2^53; map the field with col.bigint');
    return n;
  },
  hashAs: 'integer',
  accepts: (d) => (d === 'sqlite' ? ['int64', 'int32', 'numeric'] : ['int32', 'int64']),
};

const bigint: Codec<bigint> = {
  type: 'bigint',
  encode(value, dialect) {
    const v = typeof value === 'bigint' ? value : BigInt(value);
    return dialect === 'postgres' ? v.toString() : v; // mysql2 and better-sqlite3 bind bigint exactly
  },
  decode(raw) {
    if (typeof raw === 'bigint') return raw;
    if (typeof raw === 'number' && Number.isSafeInteger(raw)) return BigInt(raw);
    try {
      return BigInt(asText(raw, 'bigint'));
    } catch {
      throw bad('bigint', raw);
    }
  },
  hashAs: 'integer',
  accepts: (d) => (d === 'sqlite' ? ['int64', 'numeric'] : ['int64']),
};

/** Canonical decimal text: no exponent, no trailing fractional zeros, no `-0`. */
export function canonicalDecimal(text: string): string {
  let s = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s))
    throw new MidairError('ENCODING', 'a numeric value is not a plain decimal number');
  let sign = '';
  if (s.startsWith('-') || s.startsWith('+')) {
    sign = s.startsWith('-') ? '-' : '';
    s = s.slice(1);
  }
  let [int = '', frac = ''] = s.split('.');
  int = int.replace(/^0+(?=\d)/, '') || '0';
  frac = frac.replace(/0+$/, '');
  const out = frac ? `${int}.${frac}` : int;
  return out === '0' ? '0' : sign + out;
}

const numeric: Codec<string> = {
  type: 'numeric',
  encode(value) {
    return canonicalDecimal(String(value));
  },
  decode(raw) {
    return canonicalDecimal(asText(raw, 'numeric'));
  },
  hashAs: 'decimal',
  accepts: (d) => (d === 'sqlite' ? ['text'] : ['numeric']),
};

const text: Codec<string> = {
  type: 'text',
  encode(value) {
    if (typeof value !== 'string') throw new MidairError('ENCODING', 'a text field holds a non-string value');
    return value;
  },
  decode(raw) {
    return asText(raw, 'text');
  },
  hashAs: 'text',
  accepts: () => ['text', 'uuid'],
};

const boolean: Codec<boolean> = {
  type: 'boolean',
  encode(value, dialect) {
    if (typeof value !== 'boolean') throw new MidairError('ENCODING', 'a boolean field holds a non-boolean value');
    return dialect === 'postgres' ? value : value ? 1 : 0;
  },
  decode(raw) {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'number' || typeof raw === 'bigint') return raw !== 0 && raw !== 0n;
    const t = asText(raw, 'boolean');
    if (t === 't' || t === 'true' || t === '1') return true;
    if (t === 'f' || t === 'false' || t === '0') return false;
    throw bad('boolean', raw);
  },
  hashAs: 'boolean',
  accepts: (d) =>
    d === 'postgres' ? ['boolean'] : d === 'mysql' ? ['boolean', 'int32'] : ['int64', 'numeric', 'boolean'],
};

export interface TimestampOptions {
  /** `date`: a JS `Date` (millisecond precision). `string`: canonical ISO text with microseconds. Default `date`. */
  readonly as?: 'date' | 'string';
}

function timestamptz(options: TimestampOptions = {}): Codec<Date | string> {
  const asDate = (options.as ?? 'date') === 'date';
  const toMicros = (value: Date | string): bigint =>
    value instanceof Date ? instantFromDate(value) : parseInstant(value);
  const fromMicros = (micros: bigint): Date | string => (asDate ? dateFromInstant(micros) : formatInstant(micros));
  return {
    type: 'timestamptz',
    hashAs: asDate ? 'instant-ms' : 'instant-us',
    encode(value, dialect) {
      if (value instanceof Date && dialect !== 'mysql') return formatDate(value);
      const micros = toMicros(value);
      return dialect === 'mysql' ? instantToEpochSeconds(micros) : formatInstant(micros);
    },
    decode(raw, dialect) {
      if (raw instanceof Date) return fromMicros(instantFromDate(raw));
      const t = asText(raw, 'timestamptz');
      if (asDate) {
        const ms = dialect === 'mysql' ? epochSecondsToMs(t) : parseInstantMs(t);
        if (ms !== undefined) return new Date(ms);
      }
      return fromMicros(dialect === 'mysql' ? epochSecondsToInstant(t) : parseInstant(t));
    },
    // MySQL TIMESTAMP is stored in UTC but read and written in the session's
    // time zone; epoch seconds sidestep whatever zone the user's pool set.
    readExpr: (column, dialect) => (dialect === 'mysql' ? `UNIX_TIMESTAMP(${column})` : column),
    writeExpr: (placeholder, dialect) =>
      dialect === 'mysql' ? `FROM_UNIXTIME(CAST(${placeholder} AS DECIMAL(20,6)))` : placeholder,
    accepts: (d) => (d === 'sqlite' ? ['text'] : ['timestamptz']),
  };
}

/** A timestamp without time zone: canonical wall-clock text `YYYY-MM-DDTHH:MM:SS.ffffff`. */
const timestamp: Codec<string> = {
  type: 'timestamp',
  encode(value, dialect) {
    const wall = canonicalWall(value);
    return dialect === 'mysql' ? wall.replace('T', ' ') : wall;
  },
  decode(raw) {
    return canonicalWall(asText(raw, 'timestamp'));
  },
  hashAs: 'wall',
  accepts: (d) => (d === 'sqlite' ? ['text'] : ['timestamp']),
};

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const date: Codec<string> = {
  type: 'date',
  encode(value) {
    if (typeof value !== 'string' || !DATE_RE.test(value))
      throw new MidairError('ENCODING', 'a date field is not YYYY-MM-DD text');
    return value;
  },
  decode(raw) {
    const t = asText(raw, 'date').slice(0, 10);
    if (!DATE_RE.test(t)) throw bad('date', raw);
    return t;
  },
  hashAs: 'date',
  accepts: (d) => (d === 'sqlite' ? ['text'] : ['date']),
};

/**
 * Any JSON value, losing nothing: numbers a double holds exactly are plain
 * numbers, others `LosslessNumber`s with their exact value; `-0` stays `-0`;
 * a stored JSON `null` is `JSON_NULL` (a `null` field is SQL NULL). See
 * docs/decisions/0008.
 */
const json: Codec<unknown> = {
  type: 'json',
  encode(value) {
    return stringifyJson(value);
  },
  decode(raw) {
    if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) return raw; // already parsed by a driver
    try {
      return parseJson(asText(raw, 'json'));
    } catch (err) {
      throw new MidairError('ENCODING', 'a json column holds text that is not JSON', { cause: err });
    }
  },
  hashAs: 'json',
  accepts: () => ['json', 'text'],
  loses(column, dialect) {
    if (dialect === 'postgres' && column.type === 'jsonb') {
      return 'jsonb keeps every JSON number exactly but not -0, which reads back as 0 (nor the spelling of numbers, such as 1.0 or 1e3); use json to keep -0';
    }
    if (dialect === 'mysql' && column.family === 'json') {
      return "MySQL's JSON type stores numbers as doubles, so numbers beyond a double's precision or range are rounded; use a LONGTEXT column to keep every number";
    }
    return undefined;
  },
};

const bytes: Codec<Uint8Array> = {
  type: 'bytes',
  encode(value) {
    if (!(value instanceof Uint8Array))
      throw new MidairError('ENCODING', 'a bytes field holds a value that is not a Uint8Array');
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
  decode(raw, dialect) {
    if (Buffer.isBuffer(raw)) return raw;
    if (raw instanceof Uint8Array) return Buffer.from(raw);
    if (dialect === 'postgres' && typeof raw === 'string' && raw.startsWith('\\x'))
      return Buffer.from(raw.slice(2), 'hex');
    throw bad('bytes', raw);
  },
  hashAs: 'bytes',
  accepts: (d) => (d === 'sqlite' ? ['bytes', 'other'] : ['bytes']),
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const uuid: Codec<string> = {
  type: 'uuid',
  encode(value) {
    const v = typeof value === 'string' ? value.toLowerCase() : '';
    if (!UUID_RE.test(v)) throw new MidairError('ENCODING', 'a uuid field is not a canonical uuid string');
    return v;
  },
  decode(raw) {
    return asText(raw, 'uuid').toLowerCase();
  },
  hashAs: 'uuid',
  accepts: () => ['uuid', 'text'],
};

/** Whether the codec wraps its placeholder in SQL on this dialect (its values then cannot go through COPY or array parameters as they are). */
export function wrapsWrites(codec: Pick<Codec<unknown>, 'writeExpr'>, dialect: DialectName): boolean {
  const probe = '\u0000';
  return codec.writeExpr !== undefined && codec.writeExpr(probe, dialect) !== probe;
}

/** Whether the codec wraps its column in SQL on this dialect when reading it. */
export function wrapsReads(codec: Pick<Codec<unknown>, 'readExpr'>, dialect: DialectName): boolean {
  const probe = '\u0000';
  return codec.readExpr !== undefined && codec.readExpr(probe, dialect) !== probe;
}

/** Everything a custom codec must say. */
export interface CustomCodecSpec<T> {
  readonly type: string;
  encode(value: T, dialect: DialectName): unknown;
  decode(raw: unknown, dialect: DialectName): T;
  readExpr?(column: string, dialect: DialectName): string;
  writeExpr?(placeholder: string, dialect: DialectName): string;
  /** Families able to hold the value; default: any. */
  readonly accepts?: readonly ColumnFamily[];
  /** How verification may hash the column in SQL (the entity value must then be of that kind); default: hashed in JS. */
  readonly hashAs?: HashKind;
}

/**
 * The built-in codecs. Entity-side types: integer → number, bigint → bigint,
 * numeric → canonical decimal string, text/uuid/date → string, boolean,
 * timestamptz → Date (or ISO string with µs), timestamp → wall-clock string,
 * json → any JSON value, bytes → Uint8Array (a Buffer when read).
 *
 * @example
 * ```ts
 * const money = codecs.custom<bigint>({ type: 'cents', encode: (v) => v.toString(), decode: (r) => BigInt(String(r)) });
 * ```
 */
export const codecs = Object.freeze({
  integer,
  bigint,
  numeric,
  text,
  boolean,
  timestamptz,
  timestamp,
  date,
  json,
  bytes,
  uuid,
  custom<T>(spec: CustomCodecSpec<T>): Codec<T> {
    const accepts = spec.accepts ?? COLUMN_FAMILIES;
    return { ...spec, type: `custom:${spec.type}`, accepts: () => accepts };
  },
});
