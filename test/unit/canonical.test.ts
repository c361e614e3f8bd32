import { describe, expect, it } from 'vitest';
import { canonicalEntity, canonicalValue, diffEntities, entityHash, valuesEqual } from '../../src/index.js';

/** The contract: two entities that differ (per diffEntities) never share a canonical form. */
function differAndHashApart(a: object, b: object): void {
  expect(diffEntities(a, b).length, JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))).toBeGreaterThan(0);
  expect(canonicalEntity(a, new Set())).not.toBe(canonicalEntity(b, new Set()));
  expect(entityHash(a, new Set())).not.toBe(entityHash(b, new Set()));
}

describe('the canonical form', () => {
  it('keeps types apart and NULL apart from the empty string', () => {
    differAndHashApart({ id: 1, v: '5' }, { id: 1, v: 5 });
    differAndHashApart({ id: 1, v: '' }, { id: 1, v: null });
    differAndHashApart({ id: 1, v: 'true' }, { id: 1, v: true });
    differAndHashApart({ id: 1, v: new Date(5) }, { id: 1, v: '5' });
    differAndHashApart({ id: 1, a: 'x', b: '' }, { id: 1, a: '', b: 'x' });
    expect(canonicalValue(5n)).toBe(canonicalValue(5));
    expect(entityHash({ id: 1, j: { b: 1, a: [true] } }, new Set())).toBe(entityHash({ j: { a: [true], b: 1 }, id: 1n }, new Set()));
    expect(entityHash({ id: 1, v: null }, new Set())).toBe(entityHash({ id: 1 }, new Set()));
  });

  it('regression: non-finite JSON numbers do not hash like null', () => {
    differAndHashApart({ id: 1, j: { a: Infinity } }, { id: 1, j: { a: null } });
    differAndHashApart({ id: 1, j: [NaN] }, { id: 1, j: [null] });
  });

  it('regression: text with lone surrogates does not hash like U+FFFD', () => {
    differAndHashApart({ id: 1, s: '\uD800' }, { id: 1, s: '\uD801' });
    differAndHashApart({ id: 1, s: 'a\uDC00' }, { id: 1, s: 'a\uFFFD' });
    expect(canonicalValue('😀')).toBe('s😀');
  });

  it('regression: a Date or bytes inside a JSON value does not hash like a string or an object', () => {
    differAndHashApart({ id: 1, j: { at: new Date(0) } }, { id: 1, j: { at: '1970-01-01T00:00:00.000Z' } });
    differAndHashApart({ id: 1, j: { b: new Uint8Array([7]) } }, { id: 1, j: { b: { 0: 7 } } });
  });

  it('regression: a member holding undefined is no member, in comparison as in hashing', () => {
    expect(valuesEqual({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
    expect(entityHash({ id: 1, j: { a: undefined, b: 1 } }, new Set())).toBe(entityHash({ id: 1, j: { b: 1 } }, new Set()));
    expect(valuesEqual({ a: null }, {})).toBe(false);
  });
});
