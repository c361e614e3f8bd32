import type { Key } from '../core/keys.js';
import { MidairError, type MidairErrorCode } from '../core/errors.js';
import type { KeyState, Store } from '../core/store.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES, type Side } from '../core/phases.js';
import type { TypedEvents } from './events.js';
import type { RepositoryPorts, RepositoryStores } from './repository-ports.js';

/**
 * A timed call on one side; a failure says which store failed and whether it
 * was authoritative under the state. `fn` gets the store, the call's abort
 * signal, and the call to make any call on the other store inside this one
 * with (a sync's read of the authority): its time is told apart from this
 * call's own in the `store-call` events.
 */
export type SideCall<K extends Key, E extends object> = <T>(
  st: PhaseState,
  side: Side,
  op: string,
  fn: (s: Store<K, E>, signal: AbortSignal, nested: SideCall<K, E>) => Promise<T>,
) => Promise<T>;

/**
 * A write the application asked for: a put of the entity, a delete, or a
 * read-modify-write (`next` gets the key's current value and returns the one
 * to write, or `undefined` to leave it as it is).
 */
export type Change<E> =
  | { readonly op: 'put'; readonly entity: E }
  | { readonly op: 'delete' }
  | {
      readonly op: 'update';
      readonly next: (current: E | undefined) => E | undefined | Promise<E | undefined>;
      /** A patch: the fields `next` sets, for a store that patches in one statement. */
      readonly fields?: Partial<E>;
    };

/** What a write did: whether the authority held the key afterwards (a delete: before), and an update's entity after it. */
export interface WriteResult<E> {
  readonly held: boolean;
  readonly entity?: E | undefined;
  /** An update that left the key as it was: nothing to carry over to the other store. */
  readonly unchanged?: boolean;
}

/** The second write of a key: syncs the other store from the authority; never throws. */
export type SecondWrite<K> = (key: K, st: PhaseState, intent: number | undefined) => Promise<void>;

/** What a read or write path works with: the instance's ports and the timed call on one side. */
export interface PathContext<K extends Key, E extends object> {
  readonly p: RepositoryPorts<K, E>;
  readonly call: SideCall<K, E>;
}

export const authority = (st: PhaseState): Side => PHASE_RULES[st.phase].authoritative;

/**
 * The key's current value from its row and tombstone in the authority (read
 * under the key's lock): where new is authoritative but may not hold
 * everything yet, a key never written in new is read from old.
 */
export async function currentOf<K extends Key, E extends object>(
  c: PathContext<K, E>,
  st: PhaseState,
  key: K,
  state: KeyState<K, E>,
): Promise<E | undefined> {
  if (state.entity !== undefined || state.tombstone) return state.entity;
  if (authority(st) === 'new' && PHASE_RULES[st.phase].fallbackToOld)
    return c.call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
  return undefined;
}

/** An update's next value under the key's lock: the entity to write, or `null` to leave the key as it is. */
export async function nextOf<K extends Key, E extends object>(
  c: PathContext<K, E>,
  st: PhaseState,
  key: K,
  state: KeyState<K, E>,
  next: (current: E | undefined) => E | undefined | Promise<E | undefined>,
): Promise<{ readonly write: E | null; readonly after: E | undefined }> {
  const current = await currentOf(c, st, key, state);
  const value = await next(current);
  return { write: value ?? null, after: value ?? current };
}
export const other = (side: Side): Side => (side === 'old' ? 'new' : 'old');

export function errorCode(error: unknown): MidairErrorCode {
  return error instanceof MidairError ? error.code : 'UNKNOWN';
}

/** A store refused the write for its stale phase version: nothing was written. */
export function isFenced(error: unknown): boolean {
  return error instanceof MidairError && error.code === 'FENCED';
}

/** A call being timed: when it began, and how long the calls made inside it took. */
interface Frame {
  readonly started: number;
  nestedMs: number;
}

export function sideCall<K extends Key, E extends object>(
  stores: RepositoryStores<K, E>,
  events: TypedEvents,
): SideCall<K, E> {
  const within = (parent: Frame | undefined): SideCall<K, E> =>
    async function call(st, side, op, fn) {
      const store = side === 'old' ? stores.old : stores.new;
      // Timed only while someone listens: the call costs nothing more otherwise.
      const frame: Frame | undefined = events.has('store-call')
        ? { started: performance.now(), nestedMs: 0 }
        : undefined;
      const heard = (code?: string): void => {
        if (!frame) return;
        const ms = performance.now() - frame.started;
        if (parent) parent.nestedMs += ms;
        events.emit('store-call', {
          side,
          op,
          phase: st.phase,
          phaseVersion: st.version,
          ms,
          ...(frame.nestedMs > 0 ? { nestedMs: frame.nestedMs } : {}),
          ...(code === undefined ? {} : { error: code }),
        });
      };
      try {
        const result = await stores.timed(`${op} on ${side}`, (signal) =>
          fn(store, signal, frame ? within(frame) : untimed),
        );
        heard();
        return result;
      } catch (error) {
        heard(errorCode(error));
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
  const untimed = within(undefined);
  return untimed;
}
