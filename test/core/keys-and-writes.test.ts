import { describe, expect, it } from 'vitest';
import { col, keyId, MidairError, sqlMapping } from '../../src/index.js';
import { compareKeys, decideWrite } from '../../src/adapter.js';

describe('keys', () => {
  it('orders integers numerically across number and bigint, strings by code point, tuples part by part', () => {
    expect(compareKeys(2, 10n)).toBeLessThan(0);
    expect(compareKeys(9007199254740993n, 9007199254740992)).toBeGreaterThan(0);
    expect(compareKeys('a', 'b')).toBeLessThan(0);
    // U+FFFF sorts before U+1F600 by code point, though not by UTF-16 code unit.
    expect(compareKeys('\uffff', '😀')).toBeLessThan(0);
    expect(compareKeys([1, 'b'], [1, 'a'])).toBeGreaterThan(0);
    expect(compareKeys([1, 'a'], [2, 'a'])).toBeLessThan(0);
  });

  it('gives equal keys one id whatever their JS type', () => {
    expect(keyId(5)).toBe(keyId(5n));
    expect(keyId('5')).not.toBe(keyId(5));
    expect(keyId([1, 'x'])).toBe(keyId([1n, 'x']));
  });
});

describe('the conditional-write rule', () => {
  it('inserts where absent, updates only when newer, never passes a tombstone that is as new', () => {
    expect(decideWrite(1, undefined, undefined)).toBe('insert');
    expect(decideWrite(2, { version: 1 }, undefined)).toBe('update');
    expect(decideWrite(1, { version: 1 }, undefined)).toBe('skippedExisting');
    expect(decideWrite(1, { version: 2 }, undefined)).toBe('skippedExisting');
    expect(decideWrite(3, undefined, { version: 3 })).toBe('skippedTombstoned');
    expect(decideWrite(4, undefined, { version: 3 })).toBe('insert');
    expect(decideWrite(undefined, { version: undefined }, undefined)).toBe('skippedExisting');
    expect(decideWrite(undefined, undefined, {})).toBe('skippedTombstoned');
    expect(decideWrite(new Date(2000), undefined, { version: new Date(1000) })).toBe('insert');
  });
});

describe('mapping validation', () => {
  interface U {
    id: number;
    email: string;
    bio: string;
    version: number;
  }
  const fail = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(MidairError);
      return (err as MidairError).message;
    }
    throw new Error('expected an error');
  };

  it('says which table lacks the key', () => {
    const msg = fail(() =>
      sqlMapping<U>({
        key: 'id',
        tables: [
          { table: 'users', columns: { id: col.integer('id') } },
          { table: 'profiles', columns: { bio: col.text('bio') } },
        ],
      }),
    );
    expect(msg).toBe(
      'invalid mapping: table profiles does not map key field "id"; every table of an entity holds the key',
    );
  });

  it('says which field is mapped twice', () => {
    const msg = fail(() =>
      sqlMapping<U>({
        key: 'id',
        tables: [
          { table: 'users', columns: { id: col.integer('id'), bio: col.text('bio') } },
          { table: 'profiles', columns: { id: col.integer('user_id'), bio: col.text('bio') } },
        ],
      }),
    );
    expect(msg).toContain('field "bio" is mapped in both users and profiles');
  });

  it('requires the version field in the primary table', () => {
    const msg = fail(() =>
      sqlMapping<U>({
        key: 'id',
        version: 'version',
        tables: [
          { table: 'users', columns: { id: col.integer('id') } },
          { table: 'profiles', columns: { id: col.integer('user_id'), version: col.integer('version') } },
        ],
      }),
    );
    expect(msg).toContain('version field "version" must be mapped in the primary table users');
  });
});
