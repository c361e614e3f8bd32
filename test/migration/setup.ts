import { afterEach } from 'vitest';
import {
  defineMigration,
  memoryControlStore,
  memoryStore,
  type ControlStore,
  type Migration,
  type MigrationOptions,
  type Phase,
  type Store,
} from '../../src/index.js';
import { faultyStore, noFaults, type Faults } from '../support/faulty-store.js';

export interface Item {
  id: number;
  version: number;
  v: string;
}

export const item = (id: number, version: number, v = `v${version}`): Item => ({ id, version, v });

export interface Rig {
  oldStore: Store<number, Item>;
  newStore: Store<number, Item>;
  oldFaults: Faults;
  newFaults: Faults;
  control: ControlStore;
  migration: Migration<number, Item>;
  /** Another instance of the same migration (its own faults), started on demand. */
  instance(options?: Partial<MigrationOptions<number, Item>>): Promise<Migration<number, Item>>;
  goTo(phase: Phase, rampPercent?: number): Promise<void>;
}

const open: Migration<number, Item>[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

/** Two real memory stores (behind fault injectors), a memory control store, and one started instance. */
export async function rig(options: Partial<MigrationOptions<number, Item>> = {}): Promise<Rig> {
  const oldStore = memoryStore<number, Item>({ name: 'old', key: 'id', version: 'version' });
  const newStore = memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' });
  const oldFaults = noFaults();
  const newFaults = noFaults();
  const control = memoryControlStore();
  const make = async (extra: Partial<MigrationOptions<number, Item>>): Promise<Migration<number, Item>> => {
    const m = defineMigration<number, Item>({
      name: 'items',
      old: faultyStore(oldStore, oldFaults),
      new: faultyStore(newStore, newFaults),
      control,
      pollMs: 10,
      instanceExpiryMs: 200,
      timeoutMs: 100,
      ackTimeoutMs: 3000,
      shadow: { recheckMs: 0 },
      repair: { intervalMs: 20 },
      ...options,
      ...extra,
    });
    open.push(m);
    return m.start();
  };
  const migration = await make({});
  return {
    oldStore,
    newStore,
    oldFaults,
    newFaults,
    control,
    migration,
    instance: make,
    async goTo(phase, rampPercent) {
      while (migration.state.phase !== phase) {
        await migration.advance({ reason: `test: to ${phase}`, rampPercent });
      }
    },
  };
}

/** The control store as one instance sees it: every call waits while `holder.gate` is set (a paused process). */
export function gatedControl(control: ControlStore, holder: { gate: Promise<void> | undefined }): ControlStore {
  return new Proxy(control, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        while (holder.gate) await holder.gate;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

export const tick = async (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise and its resolver, for holding a store call at a known point. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
