import { keyId, type Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import type { Store } from '../core/store.js';
import type { PhaseState } from '../control/control-store.js';
import type { Side } from '../core/phases.js';
import type { RepositoryPorts } from './repository-ports.js';
import { UNKNOWN_OUTCOME } from './repairer.js';
import {
  authority,
  errorCode,
  isFenced,
  other,
  type SecondWrite,
  type SideCall,
  type WriteValue,
} from './repository-calls.js';

/**
 * The strict write path: the other store takes the value first, under the
 * authority's lock on the key; the authority writes it only if it did.
 */
export function createStrictWrite<K extends Key, E extends object>(
  p: RepositoryPorts<K, E>,
  call: SideCall<K, E>,
  secondWrite: SecondWrite<K>,
) {
  /**
   * Strict dual write: both stores or neither. Under the authority's lock on
   * the key (its sync by key), the other store takes the value first; only if
   * it did does the authority write it. Nothing is ever undone, so no write
   * acknowledged meanwhile can be erased; a concurrent writer of the key waits
   * for the lock. Then the usual sync closes the race with syncs that read the
   * authority before this write committed.
   */
  async function strictWrite(
    key: K,
    st: PhaseState,
    value: WriteValue<E>,
    operation: 'put' | 'delete',
  ): Promise<boolean> {
    const from = authority(st);
    const to = other(from);
    const id = keyId(key);
    const fence = p.serving.fence(st);
    const intent = await p.repairs.recordIntent(id, st);
    let otherFailure: { error: unknown } | undefined;
    let result: string;
    try {
      result = await call(st, from, operation, (s, signal) =>
        s.syncKey(
          key,
          async () => {
            try {
              await p.stores.timed(`strict ${operation} on ${to}`, (sg) =>
                storeOf(p, to).syncKey(key, async () => Promise.resolve(value), { signal: sg, fence }),
              );
            } catch (error) {
              otherFailure = { error };
              throw error;
            }
            return value;
          },
          { signal, fence },
        ),
      );
    } catch (error) {
      // The other store may hold the value (a timeout is no proof it did not): re-sync it from the authority.
      if (!isFenced(error))
        await p.repairs.enqueueRepair(id, otherFailure ? 'STRICT_REFUSED' : UNKNOWN_OUTCOME, st, true);
      if (!otherFailure) throw error;
      p.sidelines.recordSecondary(false);
      const code = errorCode(otherFailure.error);
      throw new MidairError(
        code,
        `${operation} on migration ${p.stores.name} failed: strict dual write — the ${to} store failed (${code}), so nothing was written to the ${from} store`,
        {
          cause: otherFailure.error,
          details: { operation, store: storeOf(p, to).name },
        },
      );
    }
    p.sidelines.recordSecondary(true);
    await secondWrite(key, st, intent);
    return operation === 'put' || result === 'deleted';
  }

  return strictWrite;
}

function storeOf<K extends Key, E extends object>(p: RepositoryPorts<K, E>, side: Side): Store<K, E> {
  return side === 'old' ? p.stores.old : p.stores.new;
}
