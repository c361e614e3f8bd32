import * as crypto from 'node:crypto';
import { compareCodePoints } from './keys.js';
import { JSON_NULL, isLosslessNumber, jsonNumberDecimal } from './json-value.js';

/**
 * The canonical form verification hashes, identical on every engine: each
 * non-null field becomes `<name bytes>:<name><value bytes>:<tag><text>`, in
 * field-name order, and a row hashes to the first 60 bits of the MD5 of
 * their concatenation. Tags keep types apart (`s` text, `n` number, `b`
 * boolean, `d` instant in ms, `x` bytes, `j` JSON object or array, or a
 * JSON field's `null`), so the text "5" and the number 5 never collide.
 * Numbers are written with their exact decimal value (no exponent, no
 * trailing zeros, `-0` apart from `0`), so numbers that differ beyond a
 * double's precision hash apart. NULL (and a missing field) adds nothing,
 * which is what entity comparison says too: `null` equals absent; a JSON
 * `null` ({@link JSON_NULL}) is `jnull`.
 *
 * Each SQL dialect builds the same text in SQL from its columns
 * (`sql-hash.ts`); stores that cannot hash in JS, from streamed entities.
 */
export const HASH_KINDS = [
  'integer',
  'decimal',
  'text',
  'boolean',
  'instant-ms',
  'instant-us',
  'wall',
  'date',
  'json',
  'bytes',
  'uuid',
] as const;
/** How a codec's entity value is written in the canonical form (see {@link canonicalValue}). */
export type HashKind = (typeof HASH_KINDS)[number];

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The canonical text of one entity value, or `null` for no value.
 *
 * @example canonicalValue(5n) // 'n5'
 * @example canonicalValue({ b: 1, a: [true] }) // 'j{"a": [true], "b": 1}'
 */
export function canonicalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      // A lone surrogate has no UTF-8 form (it would hash as U+FFFD, like any other): such text is hashed escaped.
      return LONE_SURROGATE.test(value) ? `u${JSON.stringify(value)}` : `s${value}`;
    case 'number':
      return `n${jsonNumberDecimal(value) ?? String(value)}`;
    case 'bigint':
      return `n${value.toString()}`;
    case 'boolean':
      return value ? 'bt' : 'bf';
    case 'symbol':
      return value === JSON_NULL ? 'jnull' : `@${String(value)}`;
    default:
      break;
  }
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof Uint8Array)
    return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (isLosslessNumber(value)) return `n${jsonNumberDecimal(value) ?? ''}`;
  return `j${canonicalJson(value)}`;
}

/**
 * JSON text in PostgreSQL's `jsonb` output form, so the database can produce
 * it too: object keys ordered by UTF-8 length, then bytes; `", "` and `": "`
 * between items; numbers as exact decimals without an exponent or trailing
 * fractional zeros, `-0` kept (jsonb prints a scale another program wrote,
 * `1.50`, and has no `-0`: such rows hash apart there, and rows decide).
 *
 * @example canonicalJson({ bb: 1, a: 2 }) // '{"a": 2, "bb": 1}'
 * @example canonicalJson([1e21, new LosslessNumber('12345678901234567890')]) // '[1000000000000000000000, 12345678901234567890]'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined || value === JSON_NULL) return 'null';
  if (typeof value === 'number') return jsonNumberDecimal(value) ?? `@${String(value)}`; // non-finite: a form no JSON text has
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v)).join(', ')}]`;
  // Values no JSON text holds get forms no JSON text has, so they cannot pass for a string, an object or null.
  if (value instanceof Date) return `@date:${value.getTime()}`;
  if (value instanceof Uint8Array)
    return `@bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  if (isLosslessNumber(value)) return jsonNumberDecimal(value) ?? '';
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    let out = '{';
    for (const { key, prefix } of keyOrder(Object.keys(record))) {
      const v = record[key];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ', ' : ''}${prefix}${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An object's keys in jsonb's order, each with its `"key": ` prefix. */
type KeyOrder = readonly { readonly key: string; readonly prefix: string }[];

/** Objects in one JSON column mostly share their key lists: each list's order is worked out once. */
const keyOrders = new Map<string, { readonly keys: readonly string[]; readonly order: KeyOrder }>();

function keyOrder(keys: readonly string[]): KeyOrder {
  const signature = keys.join('\u0000');
  const known = keyOrders.get(signature);
  // A key holding U+0000 could give another list the same signature: the lists themselves must match.
  if (known && known.keys.length === keys.length && known.keys.every((k, i) => k === keys[i])) return known.order;
  // ASCII keys (the common case) sort by length, then code units, which are their UTF-8 bytes.
  const sorted = [...keys].sort(keys.every(isAscii) ? asciiKeyOrder : jsonbKeyOrder);
  const order = sorted.map((key) => ({ key, prefix: `${JSON.stringify(key)}: ` }));
  if (keyOrders.size > 1000) keyOrders.clear();
  keyOrders.set(signature, { keys, order });
  return order;
}

/** No character beyond U+007F (then UTF-8 length and byte order are the string's own). */
const NON_ASCII = /[^\p{ASCII}]/u;
const isAscii = (s: string): boolean => !NON_ASCII.test(s);

function asciiKeyOrder(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function jsonbKeyOrder(a: string, b: string): number {
  if (isAscii(a) && isAscii(b)) {
    // UTF-8 length and byte order are the string's own for ASCII (the common case: no Buffers).
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const la = Buffer.byteLength(a);
  const lb = Buffer.byteLength(b);
  if (la !== lb) return la - lb;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Field names in the one order every engine hashes them in. */
export function hashFieldOrder(fields: Iterable<string>): string[] {
  return [...fields].sort(compareCodePoints);
}

/** `<bytes>:<text>`: a length prefix keeps the concatenation unambiguous. */
export function framed(text: string): string {
  return `${Buffer.byteLength(text)}:${text}`;
}

/** Entities of one type share their field list: its order and framed names are worked out once per list. */
const orders = new Map<string, readonly { readonly field: string; readonly name: string }[]>();

/** The last field list seen and its order: entities come in runs of one type, so most calls match it. */
let last:
  | { readonly keys: readonly string[]; readonly order: readonly { readonly field: string; readonly name: string }[] }
  | undefined;

function fieldOrder(keys: readonly string[]): readonly { readonly field: string; readonly name: string }[] {
  if (last && last.keys.length === keys.length && last.keys.every((k, i) => k === keys[i])) return last.order;
  const signature = keys.join('\u0000');
  let order = orders.get(signature);
  if (!order) {
    order = hashFieldOrder(keys).map((field) => ({ field, name: framed(field) }));
    if (orders.size > 1000) orders.clear();
    orders.set(signature, order);
  }
  last = { keys, order };
  return order;
}

/** The canonical text of an entity (its non-null fields, minus `ignore`). */
export function canonicalEntity(entity: object, ignore: ReadonlySet<string>): string {
  const record = entity as Record<string, unknown>;
  let out = '';
  for (const { field, name } of fieldOrder(Object.keys(record))) {
    if (ignore.has(field)) continue;
    const text = canonicalValue(record[field]);
    if (text !== null) out += name + framed(text);
  }
  return out;
}

/** One-shot hashing where Node has it (20.12+), else a Hash object. */
const md5Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) =>
        (crypto as unknown as { hash(algorithm: string, data: string, encoding: 'hex'): string }).hash(
          'md5',
          text,
          'hex',
        )
    : (text) => crypto.createHash('md5').update(text, 'utf8').digest('hex');

/** The first 60 bits of an MD5 as a bigint: what every database sums. */
export function hash60(text: string): bigint {
  return BigInt(`0x${md5Hex(text).slice(0, 15)}`);
}

/** An entity's row hash. */
export function entityHash(entity: object, ignore: ReadonlySet<string>): bigint {
  return hash60(canonicalEntity(entity, ignore));
}
