import {
  defineMigration,
  memoryStore,
  type ControlStore,
  type GateThresholds,
  type Key,
  type Migration,
  type Side,
  type Store,
} from '../../src/index.js';
import { rng } from '../support/rng.js';

/** How long each call the application makes on a side takes (ms); changed while running. */
export interface Delays {
  old: number;
  new: number;
}

/** The calls the application's traffic makes on a store (the repository's and the shadow reads'); jobs' calls are left alone. */
const SERVED: ReadonlySet<string> = new Set(['get', 'getMany', 'readKey', 'put', 'delete', 'syncKey', 'updateKey']);

const wait = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The store, each of its served calls delayed by `delays[side]` first (a slower database). */
export function slowed<K extends Key, E extends object>(store: Store<K, E>, delays: Delays, side: Side): Store<K, E> {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (typeof prop !== 'string' || !SERVED.has(prop)) return method.bind(target);
      return async (...args: unknown[]): Promise<unknown> => {
        await wait(delays[side]);
        return method.apply(target, args);
      };
    },
  });
}

interface Item {
  id: number;
  version: number;
  v: string;
}

const KEYS = 100;

/** One application instance of a migration between two memory stores, each slowed by `delays`, and its traffic. */
export interface CapacityRun {
  readonly migration: Migration<number, Item>;
  readonly control: ControlStore;
  /** Into dual-write, backfill, verify, into shadow-read: every gate on the way checked. */
  toShadowRead(): Promise<void>;
  /** `ops` calls of the application (70 % reads, 30 % writes) from 8 clients at once; then heartbeats carry them. */
  traffic(ops: number): Promise<void>;
  /** Waits for heartbeats to report what was counted so far (and for the shadow counters, saved at most once a second). */
  heartbeats(): Promise<void>;
  close(): Promise<void>;
}

export async function capacityRun(
  control: ControlStore,
  delays: Delays,
  thresholds: GateThresholds,
  seed = 5,
): Promise<CapacityRun> {
  const oldStore = memoryStore<number, Item>({ name: 'old', key: 'id', version: 'version' });
  const newStore = memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' });
  const versions = Array.from({ length: KEYS }, () => 1);
  await oldStore.writeIfNewer(versions.map((version, id) => ({ id, version, v: 'seed' })));
  const pollMs = 50;
  const migration = await defineMigration<number, Item>({
    name: 'items',
    old: slowed(oldStore, delays, 'old'),
    new: slowed(newStore, delays, 'new'),
    control,
    pollMs,
    instanceExpiryMs: 2000,
    timeoutMs: 1000,
    shadow: { recheckMs: 20 },
    autoHalt: false,
    repair: { intervalMs: 100 },
  }).start();
  const repo = migration.repository();
  const random = rng(seed);
  const heartbeats = async (): Promise<void> => wait(1000 + pollMs * 3);
  return {
    migration,
    control,
    async toShadowRead() {
      await migration.advance({ reason: 'test: dual writes', gated: thresholds });
      await migration.backfill();
      await migration.verify();
      await migration.advance({ reason: 'test: shadow reads', gated: thresholds });
    },
    async traffic(ops) {
      let left = ops;
      const client = async (): Promise<void> => {
        while (left-- > 0) {
          const id = Math.floor(random() * KEYS);
          if (random() < 0.7) await repo.get(id);
          else await repo.put({ id, version: (versions[id] = (versions[id] ?? 1) + 1), v: `w${left}` });
        }
      };
      await Promise.all(Array.from({ length: 8 }, client));
      await migration.settle();
      await heartbeats();
    },
    heartbeats,
    close: async () => migration.close(),
  };
}
