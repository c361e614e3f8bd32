import { isLosslessNumber, jsonNumberDecimal } from './json-value.js';

/**
 * Entity comparison by value: Dates by instant, bytes by content, bigints,
 * numbers and `LosslessNumber`s by exact numeric value (`-0` apart from `0`,
 * as JSON keeps it), objects whatever their key order. Used wherever
 * midair asks "do old and new hold the same entity?".
 *
 * @example
 * ```ts
 * diffEntities({ id: 1, tags: { b: 1, a: 2 } }, { id: 1n, tags: { a: 2, b: 1 } }) // []
 * diffEntities({ id: 1, name: 'a' }, { id: 1, name: 'b' })                    // ['name']
 * ```
 */
export function diffEntities(a: object, b: object, ignore: ReadonlySet<string> = new Set()): string[] {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const f of fields) {
    if (ignore.has(f)) continue;
    if (!valuesEqual((a as Record<string, unknown>)[f], (b as Record<string, unknown>)[f])) out.push(f);
  }
  return out.sort();
}

/** Deep equality by value (see {@link diffEntities}); `undefined` and `null` are equal (both mean "no value"). */
export function valuesEqual(x: unknown, y: unknown): boolean {
  if (x === y) return x !== 0 || Object.is(x, y); // 0 === -0
  if (x === null || x === undefined || y === null || y === undefined) return (x ?? null) === (y ?? null);
  if ((typeof x === 'number' || typeof x === 'bigint') && (typeof y === 'number' || typeof y === 'bigint')) {
    // Loose equality compares a number with a bigint by value; a bigint has no -0.
    return x == y && !Object.is(x, -0) && !Object.is(y, -0);
  }
  if (isLosslessNumber(x) || isLosslessNumber(y)) {
    const a = jsonNumberDecimal(x);
    return a !== undefined && a === jsonNumberDecimal(y);
  }
  if (x instanceof Date || y instanceof Date)
    return x instanceof Date && y instanceof Date && x.getTime() === y.getTime();
  if (x instanceof Uint8Array || y instanceof Uint8Array) {
    return (
      x instanceof Uint8Array &&
      y instanceof Uint8Array &&
      Buffer.compare(
        Buffer.from(x.buffer, x.byteOffset, x.byteLength),
        Buffer.from(y.buffer, y.byteOffset, y.byteLength),
      ) === 0
    );
  }
  if (Array.isArray(x) || Array.isArray(y)) {
    return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((v, i) => valuesEqual(v, y[i]));
  }
  if (typeof x === 'object' && typeof y === 'object') {
    // A member holding undefined is no member (JSON has no undefined): { a: undefined } equals {}.
    const kx = Object.keys(x).filter((k) => (x as Record<string, unknown>)[k] !== undefined);
    const ky = Object.keys(y).filter((k) => (y as Record<string, unknown>)[k] !== undefined);
    if (kx.length !== ky.length) return false;
    return kx.every(
      (k) => Object.hasOwn(y, k) && valuesEqual((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]),
    );
  }
  return false;
}
