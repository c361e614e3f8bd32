import { MidairError, type Key, type Store } from '../../src/index.js';

/** What a faulty store injects. All of it can change while running. */
export interface Faults {
  /** Share of calls that fail before touching the store. */
  errorRate: number;
  /** Share of calls that fail after the store applied them (the caller cannot know it did). */
  lateErrorRate: number;
  /** Share of calls that stall for `hangMs` first (past the caller's timeout), then apply. */
  hangRate: number;
  hangMs: number;
  /** Up to this many event-loop turns of delay before and after each call (reorders concurrent calls). */
  maxDelayTurns: number;
  /** While set, every call waits for it (a paused instance). */
  gate: Promise<void> | undefined;
  /** Fail every call while true. */
  down: boolean;
  random: () => number;
  /** Counts of what was injected. */
  injected: { errors: number; lateErrors: number; hangs: number };
}

export function noFaults(random: () => number = Math.random): Faults {
  return { errorRate: 0, lateErrorRate: 0, hangRate: 0, hangMs: 0, maxDelayTurns: 0, gate: undefined, down: false, random, injected: { errors: 0, lateErrors: 0, hangs: 0 } };
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * Wraps a real store and injects errors, late errors, hangs and reordering
 * delays. Injected errors are MidairErrors naming this store, as a driver
 * failure would be.
 */
export function faultyStore<K extends Key, E extends object>(inner: Store<K, E>, faults: Faults): Store<K, E> {
  const held = async (): Promise<void> => {
    for (let gate = faults.gate; gate; gate = faults.gate) await gate;
  };
  const inject = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    await held();
    const f = faults;
    await turns(Math.floor(f.random() * (f.maxDelayTurns + 1)));
    if (f.down || f.random() < f.errorRate) {
      f.injected.errors++;
      throw new MidairError('CONNECTION', `${op} on ${inner.name} failed: injected fault`, { details: { store: inner.name, operation: op } });
    }
    if (f.random() < f.hangRate) {
      f.injected.hangs++;
      await new Promise((resolve) => setTimeout(resolve, f.hangMs));
    }
    const result = await fn();
    await turns(Math.floor(f.random() * (f.maxDelayTurns + 1)));
    await held();
    if (f.random() < f.lateErrorRate) {
      f.injected.lateErrors++;
      throw new MidairError('CONNECTION', `${op} on ${inner.name} failed after applying: injected fault`, { details: { store: inner.name, operation: op } });
    }
    return result;
  };
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    keyOf: (e) => inner.keyOf(e),
    versionOf: (e) => inner.versionOf(e),
    get: (k, o) => inject('get', () => inner.get(k, o)),
    getMany: (ks, o) => inject('getMany', () => inner.getMany(ks, o)),
    put: (e, o) => inject('put', () => inner.put(e, o)),
    delete: (k, o) => inject('delete', () => inner.delete(k, o)),
    count: (o) => inject('count', () => inner.count(o)),
    scan: (o) => inner.scan(o),
    sampleKeys: (n, o) => inject('sampleKeys', () => inner.sampleKeys(n, o)),
    writeIfNewer: (es, o) => inject('writeIfNewer', () => inner.writeIfNewer(es, o)),
    syncKey: (k, read, o) => inject('syncKey', () => inner.syncKey(k, read, o)),
    syncMany: (ks, read, o) => inject('syncMany', () => inner.syncMany(ks, read, o)),
    getTombstone: (k, o) => inject('getTombstone', () => inner.getTombstone(k, o)),
    purgeTombstones: (o) => inner.purgeTombstones(o),
    setup: (o) => inner.setup(o),
    check: (o) => inner.check(o),
    close: () => inner.close(),
    // Verification reads pass through without faults (the model test injects faults into the application's calls).
    ...(inner.keyFields ? { keyFields: inner.keyFields } : {}),
    ...(inner.keyAt ? { keyAt: inner.keyAt.bind(inner) } : {}),
    ...(inner.hashRange ? { hashRange: inner.hashRange.bind(inner) } : {}),
    ...(inner.hashUnsupported ? { hashUnsupported: inner.hashUnsupported.bind(inner) } : {}),
    ...(inner.raiseFence ? { raiseFence: inner.raiseFence.bind(inner) } : {}),
    ...(inner.fenceOf ? { fenceOf: inner.fenceOf.bind(inner) } : {}),
  };
}
