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
  nextOf,
  other,
  type Change,
  type PathContext,
  type SecondWrite,
  type SideCall,
  type WriteResult,
} from './repository-calls.js';

/**
 * The strict write path: the other store takes the value first, under the
 * authority's lock on the key; the authority writes it only if it did.
 */
export function createStrictWrite<K extends Key, E extends object>(c: PathContext<K, E>, secondWrite: SecondWrite<K>) {
  const { p, call } = c;
  /**
   * Strict dual write: both stores or neither. Under the authority's lock on
   * the key (its sync by key), the other store takes the value first; only if
   * it did does the authority write it. Nothing is ever undone, so no write
   * acknowledged meanwhile can be erased; a concurrent writer of the key waits
   * for the lock. Then the usual sync closes the race with syncs that read the
   * authority before this write committed. An update decides its value
   * under that same lock, from the key's current value there.
   */
  async function strictWrite(key: K, st: PhaseState, change: Change<E>): Promise<WriteResult<E>> {
    const operation = change.op;
    const from = authority(st);
    const to = other(from);
    const id = keyId(key);
    const fence = p.serving.fence(st);
    const intent = await p.repairs.recordIntent(id, st);
    let otherFailure: { error: unknown } | undefined;
    let after: E | undefined;
    /**
     * Under the authority's lock: the other store takes the value first (`null`: nothing to write anywhere), as a call
     * of its own inside the authority's (`nested`), so each store's time is its own.
     */
    const both = async (nested: SideCall<K, E>, value: E | undefined | null): Promise<E | undefined | null> => {
      if (value === null) return null;
      try {
        await nested(st, to, `strict ${operation}`, (s, sg) =>
          s.syncKey(key, async () => Promise.resolve(value), { signal: sg, fence }),
        );
      } catch (error) {
        otherFailure = { error };
        throw error;
      }
      return value;
    };
    let result: string;
    try {
      result = await call(st, from, operation, (s, signal, nested) => {
        if (change.op !== 'update')
          return s.syncKey(
            key,
            () => both(nested, change.op === 'put' ? change.entity : undefined) as Promise<E | undefined>,
            { signal, fence },
          );
        return s.updateKey(
          key,
          async (state) => {
            const decided = await nextOf({ p, call: nested }, st, key, state, change.next);
            after = decided.after;
            return both(nested, decided.write);
          },
          { signal, fence },
        );
      });
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
    if (result === 'unchanged') {
      p.repairs.completeIntent(id, st, intent);
      return { held: after !== undefined, entity: after, unchanged: true };
    }
    await secondWrite(key, st, intent);
    if (change.op === 'update') return { held: after !== undefined, entity: after };
    return { held: operation === 'put' || result === 'deleted' };
  }

  return strictWrite;
}

function storeOf<K extends Key, E extends object>(p: RepositoryPorts<K, E>, side: Side): Store<K, E> {
  return side === 'old' ? p.stores.old : p.stores.new;
}
