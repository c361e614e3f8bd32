import { performance } from 'node:perf_hooks';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { sleep } from '../core/sleep.js';

/** Brackets the calls of one thread's store calls: `leave` of the outermost call waits if the thread was too busy. */
export interface Pace {
  enter(): void;
  /** Ends a call; the outermost one waits until the thread's busy share is back at its bound. */
  leave(): Promise<void>;
  /** Ends a call that finished at once (no wait). */
  leaveNow(): void;
}

/**
 * Keeps a thread busy at most `share` of the time: when its outermost store
 * call ends (one made while no other was in flight — a read inside a
 * write's transaction never waits, so no lock is held through a wait), it
 * waits until the time busy since the last wait is that share of the time
 * gone by. Busy is the thread's event-loop utilisation: its own code and its
 * synchronous SQLite calls, so on a busy machine a job slows itself down.
 * Credit never builds up: each wait measures from the end of the last one.
 */
export function threadPace(share: number): Pace {
  let mark = performance.eventLoopUtilization();
  let depth = 0;
  return {
    enter: () => void depth++,
    leaveNow: () => void depth--,
    async leave() {
      if (--depth > 0) return;
      const { active, idle } = performance.eventLoopUtilization(mark);
      const owed = active / share - (active + idle);
      if (owed > 1) await sleep(owed);
      mark = performance.eventLoopUtilization();
    },
  };
}

/** The capabilities a store carries as objects of their own (their calls are paced too). */
const CAPABILITIES: ReadonlySet<string> = new Set(['keyReads', 'hashing', 'bulkCopy', 'fencing']);

const isIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === 'object' && v !== null && Symbol.asyncIterator in v;

/** Each page of a scan is a call of its own. */
function pacedIterable<T>(iterable: AsyncIterable<T>, pace: Pace): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const it = iterable[Symbol.asyncIterator]();
      return {
        next: async () => {
          pace.enter();
          return it.next().finally(() => pace.leave());
        },
        return: async (value?: unknown) => (it.return ? it.return(value) : { done: true as const, value: undefined }),
      };
    },
  };
}

function paced<T extends object>(target: T, pace: Pace): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value: unknown = Reflect.get(t, prop, receiver);
      if (typeof prop === 'string' && CAPABILITIES.has(prop) && typeof value === 'object' && value !== null)
        return paced(value, pace);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        pace.enter();
        let result: unknown;
        try {
          result = method.apply(t, args);
        } catch (error) {
          pace.leaveNow();
          throw error;
        }
        if (result instanceof Promise) return result.finally(() => pace.leave());
        pace.leaveNow();
        return isIterable(result) ? pacedIterable(result, pace) : result;
      };
    },
  });
}

/**
 * The store, pacing the thread that calls it (see {@link threadPace}): a job
 * working through it never takes more than its share of a CPU the serving
 * thread needs, and — SQLite having one writer per file — leaves the write
 * lock free between its chunks for the serving instances' writes.
 */
export function pacedStore<K extends Key, E extends object>(store: Store<K, E>, pace: Pace): Store<K, E> {
  return paced(store, pace);
}
