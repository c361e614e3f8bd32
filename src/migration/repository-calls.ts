import type { Key } from '../core/keys.js';
import { MidairError, type MidairErrorCode } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES, type Side } from '../core/phases.js';
import type { RepositoryPorts, RepositoryStores } from './repository-ports.js';

/** A timed call on one side; a failure says which store failed and whether it was authoritative under the state. */
export type SideCall<K extends Key, E extends object> = <T>(
  st: PhaseState,
  side: Side,
  op: string,
  fn: (s: Store<K, E>, signal: AbortSignal) => Promise<T>,
) => Promise<T>;

/** A write to one store: a put of the entity, or a delete (`undefined`). */
export type WriteValue<E> = E | undefined;

/** The second write of a key: syncs the other store from the authority; never throws. */
export type SecondWrite<K> = (key: K, st: PhaseState, intent: number | undefined) => Promise<void>;

/** What a read or write path works with: the instance's ports and the timed call on one side. */
export interface PathContext<K extends Key, E extends object> {
  readonly p: RepositoryPorts<K, E>;
  readonly call: SideCall<K, E>;
}

export const authority = (st: PhaseState): Side => PHASE_RULES[st.phase].authoritative;
export const other = (side: Side): Side => (side === 'old' ? 'new' : 'old');

export function errorCode(error: unknown): MidairErrorCode {
  return error instanceof MidairError ? error.code : 'UNKNOWN';
}

/** A store refused the write for its stale phase version: nothing was written. */
export function isFenced(error: unknown): boolean {
  return error instanceof MidairError && error.code === 'FENCED';
}

export function sideCall<K extends Key, E extends object>(stores: RepositoryStores<K, E>): SideCall<K, E> {
  return async (st, side, op, fn) => {
    const store = side === 'old' ? stores.old : stores.new;
    try {
      return await stores.timed(`${op} on ${side}`, (signal) => fn(store, signal));
    } catch (error) {
      const details = { store: store.name, side, authoritative: side === authority(st) };
      if (error instanceof MidairError) {
        throw new MidairError(error.code, error.message, {
          cause: error.cause ?? error,
          details: { ...error.details, ...details },
        });
      }
      throw new MidairError('UNKNOWN', `${op} on the ${side} store failed`, { cause: error, details });
    }
  };
}
