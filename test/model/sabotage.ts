import type { ControlStore, Store } from '../../src/index.js';
import type { Doc } from './harness.js';

/** A deliberately broken variant, to show the harness catches what it claims to. */
export interface Sabotage {
  /** The new store forgets its tombstones after every delete and sync. */
  readonly noTombstones?: boolean;
  /** Failed second writes are not queued for repair. */
  readonly noRepairQueue?: boolean;
}

export function sabotaged(store: Store<number, Doc>, sabotage: Sabotage | undefined): Store<number, Doc> {
  if (!sabotage?.noTombstones) return store;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (prop !== 'delete' && prop !== 'syncKey' && prop !== 'syncMany')
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: unknown[]) => {
        const r: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await target.purgeTombstones();
        return r;
      };
    },
  });
}

export function sabotagedControl(control: ControlStore, sabotage: Sabotage | undefined): ControlStore {
  if (!sabotage?.noRepairQueue) return control;
  return new Proxy(control, {
    get(target, prop, receiver) {
      // Nothing is queued, intents included, yet every caller is told it was (an intent refused would refuse the write).
      if (prop === 'enqueueRepairs')
        return async (_migration: string, _direction: string, entries: readonly unknown[]) =>
          Promise.resolve(entries.map((_, i) => i + 1));
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
