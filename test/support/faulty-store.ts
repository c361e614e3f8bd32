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
  /** Share of writes that apply only after a stall of 1–`lateCommitMaxMs` ms (the caller's timeout fired long before). */
  lateCommitRate?: number;
  lateCommitMaxMs?: number;
  /** Up to this many event-loop turns of delay before and after each call (reorders concurrent calls). */
  maxDelayTurns: number;
  /** While set, every call waits for it (a paused instance). */
  gate: Promise<void> | undefined;
  /** A killed process: every call not yet finished, and every later one, never completes. */
  killed?: boolean;
  /** Told of each hang and late commit as it starts (a trace line; it must not wait). */
  note?: (line: string) => void;
  /** Called right after a write applied, before it returns (to pause or kill between a write's two stores). */
  afterApply?: (store: string, operation: string) => void;
  /** Fail every call while true. */
  down: boolean;
  random: () => number;
  /** Calls that have begun applying (stalled, hung or running) and not yet returned from the store. */
  applying?: number;
  /** Counts of what was injected. */
  injected: { errors: number; lateErrors: number; hangs: number; lateCommits?: number };
}

/** Per wrapped store, on top of the shared {@link Faults}. */
export interface StoreFaults {
  /** An extra share of calls that fail before touching this store (read each call). */
  readonly extraErrorRate?: () => number;
}

export function noFaults(random: () => number = Math.random): Faults {
  return {
    errorRate: 0,
    lateErrorRate: 0,
    hangRate: 0,
    hangMs: 0,
    maxDelayTurns: 0,
    gate: undefined,
    down: false,
    random,
    injected: { errors: 0, lateErrors: 0, hangs: 0 },
  };
}

const never = new Promise<never>(() => undefined);

/** Waits while `faults` holds its instance paused, and forever once it is killed. */
export async function heldBy(faults: Pick<Faults, 'gate' | 'killed'>): Promise<void> {
  for (;;) {
    if (faults.killed) await never;
    const gate = faults.gate;
    if (!gate) return;
    await gate;
  }
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

const WRITES: ReadonlySet<string> = new Set([
  'put',
  'delete',
  'writeIfNewer',
  'syncKey',
  'updateKey',
  'syncMany',
  'syncManyFrom',
]);

/**
 * Wraps a real store and injects errors, late errors, hangs, late commits,
 * pauses, kills and reordering delays. Injected errors are MidairErrors
 * naming this store, as a driver failure would be.
 */
export function faultyStore<K extends Key, E extends object>(
  inner: Store<K, E>,
  faults: Faults,
  own: StoreFaults = {},
): Store<K, E> {
  const held = (): Promise<void> => heldBy(faults);
  const inject = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    await held();
    const f = faults;
    await turns(Math.floor(f.random() * (f.maxDelayTurns + 1)));
    await held();
    if (f.down || f.random() < f.errorRate || (own.extraErrorRate !== undefined && f.random() < own.extraErrorRate())) {
      f.injected.errors++;
      throw new MidairError('CONNECTION', `${op} on ${inner.name} failed: injected fault`, {
        details: { store: inner.name, operation: op },
      });
    }
    f.applying = (f.applying ?? 0) + 1;
    let result: T;
    try {
      if (f.random() < f.hangRate) {
        f.injected.hangs++;
        f.note?.(`${op} on ${inner.name} hangs ${f.hangMs} ms, then applies`);
        await new Promise((resolve) => setTimeout(resolve, f.hangMs));
      } else if (WRITES.has(op) && f.random() < (f.lateCommitRate ?? 0)) {
        f.injected.lateCommits = (f.injected.lateCommits ?? 0) + 1;
        const ms = 1 + Math.floor(f.random() * (f.lateCommitMaxMs ?? 100));
        f.note?.(`${op} on ${inner.name} commits ${ms} ms late`);
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
      result = await fn();
    } finally {
      f.applying = (f.applying ?? 1) - 1;
    }
    if (WRITES.has(op)) f.afterApply?.(inner.name, op);
    await turns(Math.floor(f.random() * (f.maxDelayTurns + 1)));
    await held();
    if (f.random() < f.lateErrorRate) {
      f.injected.lateErrors++;
      throw new MidairError('CONNECTION', `${op} on ${inner.name} failed after applying: injected fault`, {
        details: { store: inner.name, operation: op },
      });
    }
    return result;
  };
  const fencing = inner.fencing;
  return {
    name: inner.name,
    versioned: inner.versioned,
    keyOf: (e) => inner.keyOf(e),
    versionOf: (e) => inner.versionOf(e),
    get: (k, o) => inject('get', () => inner.get(k, o)),
    getMany: (ks, o) => inject('getMany', () => inner.getMany(ks, o)),
    readKey: (k, o) => inject('readKey', () => inner.readKey(k, o)),
    put: (e, o) => inject('put', () => inner.put(e, o)),
    delete: (k, o) => inject('delete', () => inner.delete(k, o)),
    count: (o) => inject('count', () => inner.count(o)),
    scan: (o) => inner.scan(o),
    sampleKeys: (n, o) => inject('sampleKeys', () => inner.sampleKeys(n, o)),
    writeIfNewer: (es, o) => inject('writeIfNewer', () => inner.writeIfNewer(es, o)),
    syncKey: (k, read, o) => inject('syncKey', () => inner.syncKey(k, read, o)),
    updateKey: (k, next, o) => inject('updateKey', () => inner.updateKey(k, next, o)),
    syncMany: (ks, read, o) => inject('syncMany', () => inner.syncMany(ks, read, o)),
    getTombstone: (k, o) => inject('getTombstone', () => inner.getTombstone(k, o)),
    purgeTombstones: (o) => inner.purgeTombstones(o),
    setup: (o) => inner.setup(o),
    check: (o) => inner.check(o),
    close: () => inner.close(),
    // Fences are the store's own guard against stale writers: they fail and stall like any call.
    ...(fencing
      ? {
          fencing: {
            raiseFence: (fence, o) => inject('raiseFence', () => fencing.raiseFence(fence, o)),
            fenceOf: (m, o) => inject('fenceOf', () => fencing.fenceOf(m, o)),
          },
        }
      : {}),
    // Verification's hashes pass through without faults (the model test injects faults into the application's calls);
    // key-only reads and the same-engine copy are left out, so callers take the faulted paths through whole entities.
    ...(inner.keyFields ? { keyFields: inner.keyFields } : {}),
    ...(inner.hashing ? { hashing: inner.hashing } : {}),
  };
}
