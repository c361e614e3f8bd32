import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';

/** A switch the demo flips to make a store fail (a fault burst). */
export interface FaultSwitch {
  down: boolean;
  /** Calls failed while down. */
  injected: number;
}

const FAILING: ReadonlySet<string> = new Set([
  'get',
  'getMany',
  'put',
  'delete',
  'syncKey',
  'syncMany',
  'writeIfNewer',
  'getTombstone',
]);

/** The store, failing every data call with a CONNECTION error while the switch is down. */
export function withFaults<K extends Key, E extends object>(store: Store<K, E>, faults: FaultSwitch): Store<K, E> {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !FAILING.has(prop)) return method.bind(target);
      return (...args: unknown[]): unknown => {
        if (faults.down) {
          faults.injected++;
          return Promise.reject(
            new MidairError('CONNECTION', `${prop} on ${target.name} failed: the demo's fault burst is on`),
          );
        }
        return method.apply(target, args);
      };
    },
  });
}
