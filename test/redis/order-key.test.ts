import { describe, expect, it } from 'vitest';
import type { Key } from '../../src/index.js';
import { compareKeys } from '../../src/adapter.js';
import { OrderKeys } from '../../src/redis/order-key.js';
import { rng as seededRandom } from '../support/rng.js';

const SEED = 20_261_203;

function sortedBy(keys: readonly Key[], order: OrderKeys<Key>): Key[] {
  return [...keys].sort((a, b) => Buffer.compare(order.encode(a), order.encode(b)));
}

describe('the Redis index encoding of keys', () => {
  it('sorts signed 64-bit integers numerically, as number and bigint keys, and decodes them back', () => {
    const random = seededRandom(SEED);
    const keys: bigint[] = [0n, 1n, -1n, 9n, 10n, -(1n << 63n), (1n << 63n) - 1n, 1n << 53n];
    for (let i = 0; i < 500; i++)
      keys.push(BigInt(Math.floor((random() - 0.5) * 2 ** 52)) * BigInt(Math.floor(random() * 4096)));
    const order = new OrderKeys<Key>(['bigint'], 'test');
    expect(sortedBy(keys, order)).toEqual([...keys].sort(compareKeys));
    for (const k of keys) expect(order.decode(order.encode(k))).toBe(k);
    const numbers = new OrderKeys<Key>(['number'], 'test');
    expect(numbers.decode(numbers.encode(-42))).toBe(-42);
    expect(() => order.encode(1n << 63n)).toThrow(/64-bit/);
  });

  it('sorts text by code point (UTF-8 bytes), astral characters and U+0000 included', () => {
    const keys = ['', 'a', 'a\u0000', 'a\u0000b', 'ab', 'b', 'é', '\uFFFF', '😀', 'Z', 'a😀', 'a\uFFFF'];
    const order = new OrderKeys<Key>(['text'], 'test');
    expect(sortedBy(keys, order)).toEqual([...keys].sort(compareKeys));
    for (const k of keys) expect(order.decode(order.encode(k))).toBe(k);
    expect(() => order.encode('\uD800')).toThrow(/lone surrogate/);
  });

  it('sorts composite keys part by part, whatever the parts hold, and decodes them back', () => {
    const random = seededRandom(SEED + 1);
    const texts = ['', 'a', 'a\u0000', 'a\u0000\u0001', 'ab', 'b', '😀'];
    const keys: Key[] = [];
    for (let i = 0; i < 300; i++)
      keys.push([
        texts[Math.floor(random() * texts.length)] as string,
        BigInt(Math.floor((random() - 0.5) * 1000)),
        texts[Math.floor(random() * texts.length)] as string,
      ]);
    const order = new OrderKeys<Key>(['text', 'bigint', 'text'], 'test');
    expect(sortedBy(keys, order)).toEqual([...keys].sort(compareKeys));
    for (const k of keys) expect(order.decode(order.encode(k))).toEqual(k);
  });

  it('reads the key back from its text in a Redis key name, and refuses text that is no key', () => {
    const one = new OrderKeys<Key>(['bigint'], 'test');
    expect(one.parseText('42')).toBe(42n);
    expect(one.parseText('-7')).toBe(-7n);
    for (const bad of ['', '042', '4.2', 'x', '99999999999999999999']) expect(one.parseText(bad)).toBeUndefined();
    const pair = new OrderKeys<Key>(['number', 'text'], 'test');
    expect(pair.parseText('3:a:b')).toEqual([3, 'a:b']);
    expect(pair.text([3, 'a:b'])).toBe('3:a:b');
    expect(pair.parseText('3')).toBeUndefined();
  });
});
