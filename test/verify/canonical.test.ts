import { describe, expect, it } from 'vitest';
import { JSON_NULL, LosslessNumber, diffEntities, valuesEqual } from '../../src/index.js';
import { canonicalEntity, canonicalJson, canonicalValue, codecs, entityHash } from '../../src/adapter.js';

/** The contract: two entities that differ (per diffEntities) never share a canonical form. */
function differAndHashApart(a: object, b: object): void {
  expect(
    diffEntities(a, b).length,
    JSON.stringify([a, b], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
  ).toBeGreaterThan(0);
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
    expect(entityHash({ id: 1, j: { b: 1, a: [true] } }, new Set())).toBe(
      entityHash({ j: { a: [true], b: 1 }, id: 1n }, new Set()),
    );
    expect(entityHash({ id: 1, v: null }, new Set())).toBe(entityHash({ id: 1 }, new Set()));
  });

  it('orders the keys of objects that share a key list alike, and never takes one list for another', () => {
    expect(canonicalJson({ theme: 'dark', n: 1, tags: ['a'] })).toBe('{"n": 1, "tags": ["a"], "theme": "dark"}');
    expect(canonicalJson({ tags: [], theme: 'x', n: 2 })).toBe('{"n": 2, "tags": [], "theme": "x"}');
    expect(canonicalJson({ theme: undefined, n: 3, tags: undefined })).toBe('{"n": 3}');
    // Key lists joined with U+0000 look alike when a key holds U+0000.
    expect(canonicalJson({ a: 1, b: 2 })).toBe('{"a": 1, "b": 2}');
    expect(canonicalJson({ 'a\u0000b': 1 })).toBe('{"a\\u0000b": 1}');
    differAndHashApart({ id: 1, j: { 'a\u0000b': 1 } }, { id: 1, j: {} });
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
    expect(entityHash({ id: 1, j: { a: undefined, b: 1 } }, new Set())).toBe(
      entityHash({ id: 1, j: { b: 1 } }, new Set()),
    );
    expect(valuesEqual({ a: null }, {})).toBe(false);
  });
});

describe('the canonical form of JSON values', () => {
  const json = (text: string): unknown => codecs.json.decode(text, 'sqlite');

  it('regression: JSON numbers beyond a double were rounded and verify called them equal', () => {
    const written = json('{"big":12345678901234567890,"pi":3.14159265358979323846264338,"small":1e-400,"n":-0.0}');
    const rounded = json('{"big":12345678901234567000,"pi":3.141592653589793,"small":0,"n":0}');
    differAndHashApart({ id: 1, j: written }, { id: 1, j: rounded });
    // Each member on its own, too.
    for (const field of ['big', 'pi', 'small', 'n']) {
      const w = (written as Record<string, unknown>)[field];
      const r = (rounded as Record<string, unknown>)[field];
      differAndHashApart({ id: 1, j: { [field]: w } }, { id: 1, j: { [field]: r } });
      differAndHashApart({ id: 1, j: w }, { id: 1, j: r });
    }
  });

  it('keeps apart numbers that differ beyond a double, -0 and 0, 1e-400 and 0, JSON null and SQL NULL', () => {
    differAndHashApart({ id: 1, j: json('9007199254740993') }, { id: 1, j: 9007199254740992 });
    differAndHashApart({ id: 1, j: json('[0.1000000000000000055511151231257827]') }, { id: 1, j: [0.1] });
    differAndHashApart({ id: 1, j: [-0] }, { id: 1, j: [0] });
    differAndHashApart({ id: 1, j: -0 }, { id: 1, j: 0 });
    differAndHashApart({ id: 1, j: json('1e-400') }, { id: 1, j: 0 });
    differAndHashApart({ id: 1, j: json('-1e-400') }, { id: 1, j: -0 });
    differAndHashApart({ id: 1, j: JSON_NULL }, { id: 1, j: null });
    differAndHashApart({ id: 1, j: JSON_NULL }, { id: 1, j: {} });
    differAndHashApart({ id: 1, j: JSON_NULL }, { id: 1, j: 'null' });
    differAndHashApart({ id: 1, j: [JSON_NULL] }, { id: 1, j: [] });
    differAndHashApart({ id: 1, j: new LosslessNumber('1') }, { id: 1, j: { value: '1', isLosslessNumber: true } });
    differAndHashApart(
      { id: 1, j: new LosslessNumber('12345678901234567890') },
      { id: 1, j: 12345678901234567890n + 1n },
    );
  });

  it('calls the same number equal however it is held or spelled', () => {
    const same = (a: unknown, b: unknown): void => {
      expect(valuesEqual(a, b), String(a)).toBe(true);
      expect(entityHash({ id: 1, j: a }, new Set())).toBe(entityHash({ id: 1, j: b }, new Set()));
      expect(entityHash({ id: 1, j: [a] }, new Set())).toBe(entityHash({ id: 1, j: [b] }, new Set()));
    };
    same(new LosslessNumber('1.50'), 1.5);
    same(new LosslessNumber('1e3'), 1000);
    same(new LosslessNumber('1000000000000000000000'), 1e21);
    same(new LosslessNumber('12345678901234567890'), 12345678901234567890n);
    same(new LosslessNumber('-0.0'), -0);
    same(json('1e-400'), new LosslessNumber(`0.${'0'.repeat(399)}1`));
    same(JSON_NULL, JSON_NULL);
    expect(canonicalJson([1e21, 5e-324, -0, 1.5])).toBe(`[1000000000000000000000, 0.${'0'.repeat(323)}5, -0, 1.5]`);
    expect(canonicalValue(JSON_NULL)).toBe('jnull');
    expect(canonicalValue(-0)).toBe('n-0');
  });
});
