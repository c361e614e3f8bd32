import { keyId, type Key } from '../core/keys.js';
import { MidairError } from '../core/errors.js';
import type { CallOptions, Store } from '../core/store.js';
import { createStrictWrite } from './repository-strict.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES } from '../core/phases.js';
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
  type SideCall,
  type WriteResult,
} from './repository-calls.js';

/**
 * The write path of the repository. Every store write carries the phase
 * version it was issued under (`fence`), which the store checks in the
 * write's own transaction: an instance paused past any expiry cannot land a
 * write the fleet has moved past. In phases with a second write, an intent
 * is queued before the first write, so a process killed between its two
 * writes leaves the key to be re-synced (docs/decisions/0007).
 */
export function createWrites<K extends Key, E extends object>(p: RepositoryPorts<K, E>, call: SideCall<K, E>) {
  const c: PathContext<K, E> = { p, call };
  const strictWrite = createStrictWrite(c, (key: K, st: PhaseState, intent: number | undefined) =>
    secondWrite(c, key, st, intent),
  );
  return {
    write: async (key: K, change: Change<E>): Promise<WriteResult<E>> => {
      const t0 = performance.now();
      try {
        return await write(c, strictWrite, key, change);
      } finally {
        p.servedWrite(performance.now() - t0);
      }
    },
  };
}

type StrictWrite<K, E> = (key: K, st: PhaseState, change: Change<E>) => Promise<WriteResult<E>>;

function fenced<K extends Key, E extends object>(p: RepositoryPorts<K, E>, st: PhaseState): MidairError {
  return new MidairError(
    'CONFLICT',
    `migration ${p.stores.name}: the fleet moved past phase version ${st.version} while this call ran; the write may not have applied — retry it`,
  );
}

/** The sync that makes the other store match the authority, fenced where it lands and refused if this instance fell out of the fleet meanwhile. */
function sync<K extends Key, E extends object>(c: PathContext<K, E>, st: PhaseState, key: K): Promise<unknown> {
  const { p, call } = c;
  const from = authority(st);
  return call(st, other(from), 'sync', (s, signal, nested) =>
    s.syncKey(
      key,
      async () => {
        const value = await nested(st, from, 'get', (a, sg) => a.get(key, { signal: sg }));
        // Checked after the read, right before the write: a stall in between cannot slip past it.
        if (!(await p.serving.stillValid(st))) throw fenced(p, st);
        return value;
      },
      { signal, fence: p.serving.fence(st) },
    ),
  );
}

/** Sync `key` into the other store from the authority; never throws: a failure queues a repair (the intent stays queued if even that fails). */
async function secondWrite<K extends Key, E extends object>(
  c: PathContext<K, E>,
  key: K,
  st: PhaseState,
  intent: number | undefined,
): Promise<void> {
  const { p } = c;
  const id = keyId(key);
  try {
    await sync(c, st, key);
    p.sidelines.recordSecondary(true);
    if (intent !== undefined) p.repairs.completeIntent(id, st, intent);
  } catch (error) {
    p.sidelines.recordSecondary(false);
    const code = errorCode(error);
    p.events.emit('second-write-failed', { keyId: id, side: other(authority(st)), code });
    await p.repairs.enqueueRepair(id, code, st);
  }
}

/** Applies a write to the authority, then the second write, per phase and mode. */
async function write<K extends Key, E extends object>(
  c: PathContext<K, E>,
  strictWrite: StrictWrite<K, E>,
  key: K,
  change: Change<E>,
): Promise<WriteResult<E>> {
  const { p, call } = c;
  const ticket = await p.serving.beginWrite();
  const st = ticket.state;
  const rules = PHASE_RULES[st.phase];
  const from = authority(st);
  const id = keyId(key);
  let background = false;
  try {
    if (rules.secondWrite && st.strict) return await strictWrite(key, st, change);
    // Before the first write: the key is remembered durably, whatever happens to this process next.
    const intent = rules.secondWrite ? await p.repairs.recordIntent(id, st) : undefined;
    let result: WriteResult<E>;
    try {
      result = await call(st, from, change.op, (s, signal, nested) =>
        apply({ p, call: nested }, st, s, key, change, { signal, fence: p.serving.fence(st) }),
      );
    } catch (error) {
      // The write may have applied before it failed (or will, after a timeout): reconcile the other store either way.
      // A fenced write wrote nothing.
      if (!isFenced(error) && (rules.secondWrite || rules.authoritative === 'new'))
        await p.repairs.enqueueRepair(id, UNKNOWN_OUTCOME, st, true);
      throw error;
    }
    // Acknowledge only while the fleet is at most one phase ahead of this call.
    if (!(await p.serving.stillValid(st))) {
      await p.repairs.enqueueRepair(id, 'FENCED', st);
      throw fenced(p, st);
    }
    if (!rules.secondWrite) return result;
    if (result.unchanged) {
      // Nothing was written: the other store already agrees as far as this call goes (syncing it could only do harm
      // where the authority is new and never held the key).
      if (intent !== undefined) p.repairs.completeIntent(id, st, intent);
      return result;
    }
    // Where reads may come from the other store (now or one phase later), the client waits for the sync or its queued repair.
    if (rules.awaitSecondWrite) {
      await secondWrite(c, key, st, intent);
      if (!(await p.serving.stillValid(st))) throw fenced(p, st);
    } else {
      background = true;
      p.sidelines.track(secondWrite(c, key, st, intent).finally(ticket.end));
    }
    return result;
  } finally {
    if (!background) ticket.end();
  }
}

/** The authority's write; an update reads the key's current value under its lock there. */
async function apply<K extends Key, E extends object>(
  c: PathContext<K, E>,
  st: PhaseState,
  s: Store<K, E>,
  key: K,
  change: Change<E>,
  options: CallOptions,
): Promise<WriteResult<E>> {
  const direct = PHASE_RULES[st.phase].directWrites ? { direct: true } : {};
  switch (change.op) {
    case 'delete':
      return { held: await s.delete(key, { ...options, ...direct }) };
    case 'put':
      await s.put(change.entity, { ...options, ...direct });
      return { held: true };
    case 'update': {
      if (direct.direct && change.fields && s.patching) {
        const patched = await s.patching.patch(key, change.fields, options);
        if (patched !== undefined) return { held: true, entity: patched };
      }
      let after: E | undefined;
      const done = await s.updateKey(
        key,
        async (state) => {
          const decided = await nextOf(c, st, key, state, change.next);
          after = decided.after;
          return decided.write;
        },
        options,
      );
      return { held: after !== undefined, entity: after, unchanged: done === 'unchanged' };
    }
  }
}
