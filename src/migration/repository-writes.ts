import { keyId, type Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import type { CallOptions, Store } from '../core/store.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES, type Side } from '../core/phases.js';
import type { Runtime } from './runtime.js';
import { UNKNOWN_OUTCOME } from './repairer.js';
import { authority, errorCode, isFenced, other, type SideCall } from './repository-calls.js';

/** A write to one store: a put of the entity, or a delete (`undefined`). */
export type WriteValue<E> = E | undefined;

/**
 * The write path of the repository. Every store write carries the phase
 * version it was issued under (`fence`), which the store checks in the
 * write's own transaction: an instance paused past any expiry cannot land a
 * write the fleet has moved past. In phases with a second write, an intent
 * is queued before the first write, so a process killed between its two
 * writes leaves the key to be re-synced (docs/decisions/0007).
 */
export function createWrites<K extends Key, E extends object>(rt: Runtime<K, E>, call: SideCall<K, E>) {
  const fenced = (st: PhaseState): MidairError =>
    new MidairError('CONFLICT', `migration ${rt.name}: the fleet moved past phase version ${st.version} while this call ran; the write may not have applied — retry it`);

  /** The sync that makes the other store match the authority, fenced where it lands and refused if this instance fell out of the fleet meanwhile. */
  const sync = (st: PhaseState, key: K): Promise<unknown> => {
    const from = authority(st);
    return call(st, other(from), 'sync', (s, signal) =>
      s.syncKey(
        key,
        async () => {
          const value = await call(st, from, 'get', (a, sg) => a.get(key, { signal: sg }));
          // Checked after the read, right before the write: a stall in between cannot slip past it.
          if (!(await rt.stillValid(st))) throw fenced(st);
          return value;
        },
        { signal, fence: rt.fence(st) },
      ),
    );
  };

  /** Sync `key` into the other store from the authority; never throws: a failure queues a repair (the intent stays queued if even that fails). */
  async function secondWrite(key: K, st: PhaseState, intent: number | undefined): Promise<void> {
    const id = keyId(key);
    try {
      await sync(st, key);
      rt.recordSecondary(true);
      if (intent !== undefined) rt.completeIntent(id, st, intent);
    } catch (error) {
      rt.recordSecondary(false);
      const code = errorCode(error);
      rt.events.emit('second-write-failed', { keyId: id, side: other(authority(st)), code });
      await rt.enqueueRepair(id, code, st);
    }
  }

  /** Applies a write to the authority, then the second write, per phase and mode. */
  async function write(key: K, value: WriteValue<E>, operation: 'put' | 'delete'): Promise<boolean> {
    const ticket = await rt.beginWrite();
    const st = ticket.state;
    const rules = PHASE_RULES[st.phase];
    const from = authority(st);
    const id = keyId(key);
    let background = false;
    try {
      if (rules.secondWrite && st.strict) return await strictWrite(key, st, value, operation);
      // Before the first write: the key is remembered durably, whatever happens to this process next.
      const intent = rules.secondWrite ? await rt.recordIntent(id, st) : undefined;
      let result: boolean;
      try {
        result = await call(st, from, operation, (s, signal) => apply(s, key, value, { signal, fence: rt.fence(st) }));
      } catch (error) {
        // The write may have applied before it failed (or will, after a timeout): reconcile the other store either way.
        // A fenced write wrote nothing.
        if (!isFenced(error) && (rules.secondWrite || rules.authoritative === 'new')) await rt.enqueueRepair(id, UNKNOWN_OUTCOME, st, true);
        throw error;
      }
      // Acknowledge only while the fleet is at most one phase ahead of this call.
      if (!(await rt.stillValid(st))) {
        await rt.enqueueRepair(id, 'FENCED', st);
        throw fenced(st);
      }
      if (!rules.secondWrite) return result;
      // Where reads may come from the other store (now or one phase later), the client waits for the sync or its queued repair.
      if (rules.awaitSecondWrite) {
        await secondWrite(key, st, intent);
        if (!(await rt.stillValid(st))) throw fenced(st);
      } else {
        background = true;
        rt.track(secondWrite(key, st, intent).finally(ticket.end));
      }
      return result;
    } finally {
      if (!background) ticket.end();
    }
  }

  /**
   * Strict dual write: both stores or neither. Under the authority's lock on
   * the key (its sync by key), the other store takes the value first; only if
   * it did does the authority write it. Nothing is ever undone, so no write
   * acknowledged meanwhile can be erased; a concurrent writer of the key waits
   * for the lock. Then the usual sync closes the race with syncs that read the
   * authority before this write committed.
   */
  async function strictWrite(key: K, st: PhaseState, value: WriteValue<E>, operation: 'put' | 'delete'): Promise<boolean> {
    const from = authority(st);
    const to = other(from);
    const id = keyId(key);
    const fence = rt.fence(st);
    const intent = await rt.recordIntent(id, st);
    let otherFailure: { error: unknown } | undefined;
    let result: string;
    try {
      result = await call(st, from, operation, (s, signal) =>
        s.syncKey(
          key,
          async () => {
            try {
              await rt.timed(`strict ${operation} on ${to}`, (sg) => storeOf(rt, to).syncKey(key, async () => Promise.resolve(value), { signal: sg, fence }));
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
      if (!isFenced(error)) await rt.enqueueRepair(id, otherFailure ? 'STRICT_REFUSED' : UNKNOWN_OUTCOME, st, true);
      if (!otherFailure) throw error;
      rt.recordSecondary(false);
      const code = errorCode(otherFailure.error);
      throw new MidairError(code, `${operation} on migration ${rt.name} failed: strict dual write — the ${to} store failed (${code}), so nothing was written to the ${from} store`, {
        cause: otherFailure.error,
        details: { operation, store: storeOf(rt, to).name },
      });
    }
    rt.recordSecondary(true);
    await secondWrite(key, st, intent);
    return operation === 'put' || result === 'deleted';
  }

  return { write };
}

function storeOf<K extends Key, E extends object>(rt: Runtime<K, E>, side: Side): Store<K, E> {
  return side === 'old' ? rt.old : rt.new;
}

async function apply<K extends Key, E extends object>(s: Store<K, E>, key: K, value: WriteValue<E>, options: CallOptions): Promise<boolean> {
  if (value === undefined) return s.delete(key, options);
  await s.put(value, options);
  return true;
}
