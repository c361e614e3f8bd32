import { MidairError } from './errors.js';

/** One part of a key: an integer (a safe `number` or a `bigint` beyond 2^53) or a string (uuids included). */
export type KeyPart = string | number | bigint;

/** A key: one part, or a tuple of parts for a composite key. */
export type Key = KeyPart | readonly KeyPart[];

/**
 * Orders two keys: integers numerically (number and bigint alike), strings by
 * Unicode code point, tuples part by part. This is the memory store's order;
 * each SQL store scans in its database's own order for its key columns.
 *
 * @example compareKeys(2, 10n) < 0 // true
 */
export function compareKeys(a: Key, b: Key): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = comparePart(a[i] as KeyPart, b[i] as KeyPart);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  return comparePart(a as KeyPart, b as KeyPart);
}

function comparePart(a: KeyPart, b: KeyPart): number {
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a !== 'string' || typeof b !== 'string') return typeof a === 'string' ? 1 : -1;
    return compareCodePoints(a, b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares strings by code point (UTF-16 code-unit order differs for astral characters). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x - y;
    return xs ? 1 : -1; // a surrogate (astral code point) sorts after any BMP unit
  }
  return a.length - b.length;
}

/**
 * A canonical string for a key, equal for equal keys whatever their JS type
 * (`5` and `5n` are one key). Used for maps, locks and logs — keys are not
 * row values, so logging them is allowed.
 *
 * @example keyId([1, 'a']) // '["n1","sa"]'
 */
export function keyId(key: Key): string {
  if (Array.isArray(key)) return JSON.stringify(key.map((p: KeyPart) => partId(p)));
  return partId(key as KeyPart);
}

function partId(part: KeyPart): string {
  return typeof part === 'string' ? `s${part}` : `n${part.toString()}`;
}

/** Validates a key's shape against the number of key fields. */
export function assertKey(key: unknown, arity: number, where: string): asserts key is Key {
  const parts = arity === 1 ? [key] : key;
  if (!Array.isArray(parts) || parts.length !== arity) {
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${where}: expected a key of ${arity} part(s)${arity > 1 ? ' as an array' : ''}`,
      {
        details: { operation: where },
      },
    );
  }
  for (const p of parts as unknown[]) {
    const ok = typeof p === 'string' || typeof p === 'bigint' || (typeof p === 'number' && Number.isSafeInteger(p));
    if (!ok) {
      throw new MidairError(
        'INVALID_ARGUMENT',
        `${where}: a key part must be a string, a safe integer or a bigint (got ${p === null ? 'null' : typeof p})`,
        { details: { operation: where } },
      );
    }
  }
}

/**
 * The key a {@link keyId} names. Integers come back as a `number` when safe
 * and a `bigint` beyond 2^53 (codecs accept either for integer columns).
 *
 * @example parseKeyId(keyId([1n, 'a'])) // [1, 'a']
 */
export function parseKeyId(id: string): Key {
  if (id.startsWith('[')) {
    const parts = JSON.parse(id) as unknown;
    if (!Array.isArray(parts) || !parts.every((p) => typeof p === 'string'))
      throw new MidairError('INVALID_ARGUMENT', 'not a key id');
    return parts.map((p: string) => parsePart(p));
  }
  return parsePart(id);
}

function parsePart(id: string): KeyPart {
  if (id.startsWith('s')) return id.slice(1);
  if (id.startsWith('n') && /^n-?\d+$/.test(id)) {
    const big = BigInt(id.slice(1));
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  throw new MidairError('INVALID_ARGUMENT', 'not a key id');
}
