import { LosslessNumber, isLosslessNumber, parse, stringify, type NumberStringifier } from 'lossless-json';
import { MidairError } from './errors.js';

export { LosslessNumber, isLosslessNumber };

/**
 * A JSON field holding JSON `null`, as the entity shows it: `null` (and
 * `undefined`) in an entity field means SQL NULL, so a stored JSON `null`
 * reads as this symbol and this symbol writes JSON `null`. Inside an object
 * or an array, `null` is plain `null`.
 *
 * @example
 * ```ts
 * await store.put({ id: 1n, prefs: JSON_NULL }); // the column holds the JSON text `null`
 * (await store.get(1n))?.prefs === JSON_NULL;    // true; a SQL NULL reads as null
 * ```
 */
export const JSON_NULL: unique symbol = Symbol.for('midair.jsonNull');
export type JsonNull = typeof JSON_NULL;

/** A JSON number: `-`, digits, an optional fraction, an optional exponent. */
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** Past this many digits before or after the point, a number keeps its exponent (no engine holds it anyway: PostgreSQL's numeric stops at 131 072). */
const MAX_PLAIN_DIGITS = 150_000;

/**
 * The exact decimal value of JSON number text, in one spelling: no exponent,
 * no leading zeros, no trailing fractional zeros; zero keeps its sign (`-0`).
 * Two texts denote the same number exactly when their forms are equal.
 *
 * @example jsonDecimal('1.50e1') // '15'
 * @example jsonDecimal('-0.0')   // '-0'
 */
export function jsonDecimal(text: string): string {
  const m = JSON_NUMBER.exec(text);
  if (!m) throw new MidairError('ENCODING', 'a JSON number is not in JSON number syntax');
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const all = int + frac;
  const lead = /^0*/.exec(all)?.[0].length ?? 0;
  const digits = all.slice(lead).replace(/0+$/, '');
  if (digits === '') return `${sign}0`;
  // Digits before the point, counted from the first significant digit (negative: zeros after the point).
  const point = exp.length <= 15 ? int.length - lead + Number(exp) : Infinity;
  if (Math.abs(point) > MAX_PLAIN_DIGITS) {
    const exponent = BigInt(int.length - lead) + BigInt(exp) - 1n; // exact, however long the exponent
    return `${sign}${digits[0] ?? ''}${digits.length > 1 ? `.${digits.slice(1)}` : ''}e${exponent}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** A finite JS number's shortest round-trip text, `-0` included (`String(-0)` is `0`). */
function doubleText(n: number): string {
  return Object.is(n, -0) ? '-0' : String(n);
}

/** The decimal form ({@link jsonDecimal}) of a JSON number held as a number, a bigint or a LosslessNumber; `undefined` for anything else (and non-finite numbers). */
export function jsonNumberDecimal(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && !Object.is(value, -0)) return String(value);
    return Number.isFinite(value) ? jsonDecimal(doubleText(value)) : undefined;
  }
  if (typeof value === 'bigint') return value.toString();
  if (isLosslessNumber(value)) return jsonDecimal(value.value);
  return undefined;
}

/**
 * A JSON number token as the entity holds it: a plain `number` when a double
 * holds its value exactly (`1.5`, `-0`, `1e23`), else a `LosslessNumber`
 * with its exact value in {@link jsonDecimal} form.
 */
function readNumber(text: string): number | LosslessNumber {
  // Up to 15 digits without an exponent, a double holds the value exactly (DBL_DIG).
  if (text.length <= 15 && !text.includes('e') && !text.includes('E')) return Number(text);
  const n = Number(text);
  const exact = jsonDecimal(text);
  return Number.isFinite(n) && jsonDecimal(doubleText(n)) === exact ? n : new LosslessNumber(exact);
}

/** A duplicate object key keeps its last value, as `JSON.parse` and `jsonb` do. */
const LAST_WINS = ({ newValue }: { newValue: unknown }): unknown => newValue;

/**
 * Could the text hold a number that needs care (an exponent, or 16 or more
 * digits)? Text in strings trips it too (a uuid's `4e`), so a text it trips
 * is scanned again with its strings skipped ({@link NUMBER_NEEDING_CARE}).
 */
const MAYBE_INEXACT = /[0-9][eE]|[0-9.]{16}/;
/** Strings whole, or what could be part of such a number outside them. */
const NUMBER_NEEDING_CARE = /"(?:[^"\\]|\\.)*"|[0-9][eE]|[0-9.]{16}/g;

function needsCare(text: string): boolean {
  if (!MAYBE_INEXACT.test(text)) return false;
  NUMBER_NEEDING_CARE.lastIndex = 0;
  for (let m = NUMBER_NEEDING_CARE.exec(text); m !== null; m = NUMBER_NEEDING_CARE.exec(text)) {
    if (text.charCodeAt(m.index) !== 0x22) return true; // not a string
  }
  return false;
}

/**
 * Reads JSON text without losing a number: numbers a double holds exactly
 * become plain numbers (as `JSON.parse` gives them, `-0` included), others
 * a `LosslessNumber`; a top-level `null` becomes {@link JSON_NULL}. Text
 * whose every number has at most 15 digits and no exponent (nearly all) is
 * read by `JSON.parse`, which then loses nothing.
 */
export function parseJson(text: string): unknown {
  const value = needsCare(text)
    ? parse(text, null, { parseNumber: readNumber, onDuplicateKey: LAST_WINS })
    : (JSON.parse(text) as unknown);
  return value === null ? JSON_NULL : value;
}

const NUMBER_TEXTS: NumberStringifier[] = [
  // JSON.stringify(-0) is `0`.
  { test: (v) => Object.is(v, -0), stringify: () => '-0' },
  // In the one spelling every engine reads back alike: jsonb would keep `1.50`'s scale, which hashes apart from JS's `1.5`.
  { test: isLosslessNumber, stringify: (v) => jsonDecimal((v as LosslessNumber).value) },
];

/** Keeps what JSON cannot hold from being written as something else. */
function checked(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new MidairError(
      'ENCODING',
      'a json field holds NaN or an infinite number, which JSON cannot hold (JSON.stringify would write null)',
    );
  }
  return value === JSON_NULL ? null : value;
}

/**
 * JSON text of an entity's JSON value, losing nothing {@link parseJson}
 * reads back: bigints print their digits and `LosslessNumber`s their exact
 * decimal ({@link jsonDecimal}), `-0` stays `-0`, {@link JSON_NULL} prints
 * `null`; NaN and infinities are refused.
 */
export function stringifyJson(value: unknown): string | undefined {
  return plainJson(value) ? JSON.stringify(value) : stringify(value, checked, undefined, NUMBER_TEXTS);
}

/** Whether `JSON.stringify` writes the value as {@link stringifyJson} would: no bigint, LosslessNumber, -0, non-finite number or symbol in it. */
function plainJson(value: unknown): boolean {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'bigint':
    case 'symbol':
      return false;
    case 'object':
      if (value === null || value instanceof Date) return true;
      if (Array.isArray(value)) return value.every(plainJson);
      return !isLosslessNumber(value) && Object.values(value).every(plainJson);
    default:
      return true;
  }
}

/** A deep copy of a JSON value that keeps LosslessNumbers, bytes and dates what they are (structuredClone would not). */
export function cloneJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => cloneJson(v)) as T;
  if (isLosslessNumber(value)) return new LosslessNumber(value.value) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(value) as T;
  if (value instanceof Uint8Array) return value.slice() as T;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
    return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: cloneJson(v), enumerable: true, writable: true, configurable: true });
    else out[k] = cloneJson(v);
  }
  return out as T;
}
