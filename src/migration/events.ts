import type { PhaseState } from '../control/control-store.js';
import type { Phase, Side } from '../core/phases.js';
import type { WaitNotice } from '../core/waits.js';

/** Every event a migration instance emits; metrics and the dashboard consume them. Keys appear as key ids, never values. */
export interface MigrationEvents {
  'phase-changed': { readonly from: PhaseState | undefined; readonly to: PhaseState };
  'second-write-failed': { readonly keyId: string; readonly side: Side; readonly code: string };
  'repair-enqueued': { readonly keyId: string; readonly reason: string };
  mismatch: {
    readonly keyId: string;
    readonly fields: readonly string[];
    readonly phase: Phase;
    /** Only when `shadow.includeValues` is on: the two entities. */
    readonly values?: { readonly old: unknown; readonly new: unknown };
  };
  repaired: { readonly keyId: string; readonly result: 'put' | 'deleted' | 'absent' };
  /** A repair that no retry can fix (a constraint) was moved out of the queue for the operator. */
  'repair-parked': { readonly keyId: string; readonly code: string; readonly store: string; readonly side: Side };
  halted: { readonly from: Phase; readonly to: Phase; readonly reason: string };
  'lazy-copied': { readonly keyId: string };
  error: { readonly operation: string; readonly error: unknown };
  /** A phase change (or a job) waits for an instance to acknowledge the phase: said once per instance, with when the wait gives up. */
  waiting: WaitNotice;
  /** A call is about to be served with this phase-state version (tests and tracing). */
  served: { readonly phaseVersion: number; readonly write: boolean };
  /** The repository finished a call on one store (metrics, the capacity figures): never a key or a value. */
  'store-call': StoreCall;
  /** A shadow comparison ended: the answers matched, mismatched (after its re-check), or the other store could not be read. */
  'shadow-compared': ShadowCompared;
}

/** How one shadow comparison ended (no key: the `mismatch` event names it). */
export interface ShadowCompared {
  readonly result: 'match' | 'mismatch' | 'error';
}

/** One call the repository made on a store, from its start to its answer or failure. */
export interface StoreCall {
  readonly side: Side;
  /**
   * The store operation: get, readKey, list, sync, put, delete, update, a
   * strict write's write of the other store (`strict put`, `strict delete`,
   * `strict update`), or `shadow-read` (a shadow comparison's read): a bounded set.
   */
  readonly op: string;
  /** The phase it was served under, and that phase state's version. */
  readonly phase: Phase;
  readonly phaseVersion: number;
  readonly ms: number;
  /**
   * The part of `ms` spent in calls made inside this one, on the other store
   * (a sync's read of the authority, a strict write's write of the other
   * store), each of which is a store call of its own; absent when none.
   */
  readonly nestedMs?: number;
  /** The error code when it failed (TIMEOUT, FENCED, UNKNOWN, …); absent when it succeeded. */
  readonly error?: string;
}

export type MigrationEventName = keyof MigrationEvents;
type Listener<N extends MigrationEventName> = (payload: MigrationEvents[N]) => void;

/**
 * A small typed event emitter. A listener that throws is reported as an
 * `error` event and never breaks the call that emitted.
 *
 * @example migration.on('mismatch', ({ keyId, fields }) => metrics.inc('mismatch', { fields: fields.join(',') }));
 */
export class TypedEvents {
  readonly #listeners = new Map<MigrationEventName, Set<(payload: never) => void>>();

  on<N extends MigrationEventName>(name: N, listener: Listener<N>): () => void {
    const set = this.#listeners.get(name) ?? new Set();
    set.add(listener);
    this.#listeners.set(name, set);
    return () => set.delete(listener);
  }

  /** Whether anything listens (a caller skips building a payload nobody hears). */
  has(name: MigrationEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }

  emit<N extends MigrationEventName>(name: N, payload: MigrationEvents[N]): void {
    for (const listener of this.#listeners.get(name) ?? []) {
      try {
        (listener as Listener<N>)(payload);
      } catch (error) {
        if (name !== 'error') this.emit('error', { operation: `listener for ${name}`, error });
      }
    }
  }
}
