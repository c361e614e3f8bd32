import type { Key, Store } from '../../src/index.js';

type Methods<K extends Key, E extends object> = {
  [M in keyof Store<K, E>]?: Store<K, E>[M] extends ((...args: infer A) => infer R) | undefined
    ? (next: (...args: A) => R, ...args: A) => R
    : never;
};

/**
 * The store with some of its calls wrapped: each wrapper gets the real call
 * as `next`, to run it before, after or instead of its own steps. Every
 * other member is the store's own (bound, so private fields work).
 */
export function intercept<K extends Key, E extends object>(store: Store<K, E>, wrappers: Methods<K, E>): Store<K, E> {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const real = (value as (...a: unknown[]) => unknown).bind(target);
      const wrap = (wrappers as Record<string | symbol, ((next: unknown, ...a: unknown[]) => unknown) | undefined>)[
        prop
      ];
      return wrap ? (...args: unknown[]) => wrap(real, ...args) : real;
    },
  });
}

/** The store with one member replaced (an optional capability object, say), every other member its own. */
export function replaceMember<K extends Key, E extends object, M extends keyof Store<K, E>>(
  store: Store<K, E>,
  member: M,
  value: Store<K, E>[M],
): Store<K, E> {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === member) return value;
      const own: unknown = Reflect.get(target, prop, receiver);
      return typeof own === 'function' ? (own as (...a: unknown[]) => unknown).bind(target) : own;
    },
  });
}
