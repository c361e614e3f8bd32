import { compareKeys, keyId, type Key } from '../keys.js';
import { MidairError } from '../errors.js';
import type { Store } from '../store.js';
import { compareVersions } from '../versions.js';
import type { PhaseState } from '../control/control-store.js';
import { PHASE_RULES, type Side } from './phases.js';
import type { Runtime } from './runtime.js';

/**
 * What the application uses in place of its DAO. Every call is routed by the
 * migration's current phase; see the phase table in the README.
 *
 * @example
 * ```ts
 * const users = migration.repository();
 * await users.put({ id: 1n, email: 'ada@example.com', version: 2 });
 * const ada = await users.get(1n);
 * ```
 */
export interface Repository<K extends Key, E extends object> {
  get(key: K): Promise<E | undefined>;
  getMany(keys: readonly K[]): Promise<(E | undefined)[]>;
  put(entity: E): Promise<void>;
  /** Resolves whether the authoritative store held the key. */
  delete(key: K): Promise<boolean>;
  /** A page of entities in key order, from the authoritative store — merged with old where new may not hold everything yet. */
  list(options?: { readonly after?: K; readonly limit?: number }): Promise<E[]>;
  /** A named non-key query (declared in `queries`), routed or merged like `list`. */
  query(name: string, ...args: readonly unknown[]): Promise<E[]>;
  /** Stops this instance (same as `migration.close()`). */
  close(): Promise<void>;
}

/** Per side, how to answer a named query. */
export type QueryDefs<E> = Readonly<Record<string, { readonly old: (...args: never[]) => Promise<E[]>; readonly new: (...args: never[]) => Promise<E[]> }>>;

export function createRepository<K extends Key, E extends object>(rt: Runtime<K, E>): Repository<K, E> {
  const store = (side: Side): Store<K, E> => (side === 'old' ? rt.old : rt.new);
  const other = (side: Side): Side => (side === 'old' ? 'new' : 'old');
  const authority = (st: PhaseState): Side => PHASE_RULES[st.phase].authoritative;
  /** A timed call on one side; a failure says which store failed and whether it was authoritative under `st`. */
  const call = async <T>(st: PhaseState, side: Side, op: string, fn: (s: Store<K, E>, signal: AbortSignal) => Promise<T>): Promise<T> => {
    try {
      return await rt.timed(`${op} on ${side}`, (signal) => fn(store(side), signal));
    } catch (error) {
      const details = { store: store(side).name, side, authoritative: side === authority(st) };
      if (error instanceof MidairError) {
        throw new MidairError(error.code, error.message, { cause: error.cause ?? error, details: { ...error.details, ...details } });
      }
      throw new MidairError('UNKNOWN', `${op} on the ${side} store failed`, { cause: error, details });
    }
  };

  /** The sync that makes the other store match the authority. It refuses to write if this instance has fallen out of the fleet meanwhile (fencing). */
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
        { signal },
      ),
    );
  };

  const fenced = (st: PhaseState): MidairError =>
    new MidairError('CONFLICT', `migration ${rt.name}: the fleet moved past phase version ${st.version} while this call ran; the write may not have applied — retry it`);

  /** Sync `key` into the other store from the authority; never throws: a failure enqueues a repair. */
  async function secondWrite(key: K, st: PhaseState, mustQueue: boolean): Promise<void> {
    const from = authority(st);
    const to = other(from);
    const id = keyId(key);
    try {
      await sync(st, key);
      rt.recordSecondary(true);
    } catch (error) {
      rt.recordSecondary(false);
      const code = error instanceof MidairError ? error.code : 'UNKNOWN';
      rt.events.emit('second-write-failed', { keyId: id, side: to, code });
      await rt.enqueueRepair(id, code, st, mustQueue);
    }
  }

  /** Applies a write to the authority, then the second write, per phase and mode. */
  async function write(key: K, apply: (s: Store<K, E>, signal: AbortSignal) => Promise<boolean>, operation: string): Promise<boolean> {
    const ticket = await rt.beginWrite();
    const st = ticket.state;
    const rules = PHASE_RULES[st.phase];
    const from = authority(st);
    let background = false;
    try {
      if (rules.secondWrite && st.strict) return await strictWrite(key, st, apply, operation);
      let result: boolean;
      try {
        result = await call(st, from, operation, apply);
      } catch (error) {
        // The write may have applied before it failed (or will, after a timeout): reconcile the other store either way.
        if (rules.secondWrite || rules.authoritative === 'new') await rt.enqueueRepair(keyId(key), 'UNKNOWN_OUTCOME', st, false);
        throw error;
      }
      // Acknowledge only while the fleet is at most one phase ahead of this call (a paused-and-expired instance must not).
      if (!(await rt.stillValid(st))) {
        await rt.enqueueRepair(keyId(key), 'FENCED', st, false);
        throw fenced(st);
      }
      if (!rules.secondWrite) return result;
      // Where reads may come from the other store (now or one phase later), the client waits for the sync or its queued repair.
      if (rules.awaitSecondWrite) {
        await secondWrite(key, st, true);
        if (!(await rt.stillValid(st))) throw fenced(st);
      } else {
        background = true;
        rt.track(secondWrite(key, st, false).finally(ticket.end));
      }
      return result;
    } finally {
      if (!background) ticket.end();
    }
  }

  async function strictWrite(key: K, st: PhaseState, apply: (s: Store<K, E>, signal: AbortSignal) => Promise<boolean>, operation: string): Promise<boolean> {
    const from = authority(st);
    const to = other(from);
    const previous = await call(st, from, 'get', (s, signal) => s.get(key, { signal }));
    const result = await call(st, from, operation, apply);
    try {
      await sync(st, key);
      rt.recordSecondary(true);
      return result;
    } catch (error) {
      rt.recordSecondary(false);
      // Undo the first write, then make the other store match whatever the authority now holds.
      try {
        await call(st, from, 'compensate', (s, signal) => (previous === undefined ? s.delete(key, { signal, tombstone: false }).then(() => undefined) : s.put(previous, { signal })));
      } catch (compensation) {
        rt.events.emit('error', { operation: `strict compensation of ${keyId(key)}`, error: compensation });
      }
      await rt.enqueueRepair(keyId(key), 'STRICT_COMPENSATED', st, false);
      const code = error instanceof MidairError ? error.code : 'UNKNOWN';
      throw new MidairError(code, `${operation} on migration ${rt.name} failed: strict dual write — the ${to} store failed (${code}), the ${from} write was undone`, {
        cause: error,
        details: { operation, store: store(to).name },
      });
    }
  }

  async function readOnce(key: K, st: PhaseState): Promise<E | undefined> {
    const rules = PHASE_RULES[st.phase];
    const id = keyId(key);
    // Frozen for a cutover, this instance may already have neighbours writing under the other authority:
    // a key they could not copy over yet is read where they wrote it.
    if (st.writesPaused && rules.secondWrite) {
      const from = authority(st);
      if (await rt.hasPendingRepair(id, from === 'old' ? 'new-to-old' : 'old-to-new')) {
        try {
          return await call(st, other(from), 'get', (s, signal) => s.get(key, { signal }));
        } catch {
          rt.recordSecondary(false); // then the usual answer below
        }
      }
    }
    if (rules.authoritative === 'old') {
      const fromNew = rules.readsNew === 'ramped' && rt.inRamp(id, st.rampPercent) && !(await rt.hasPendingRepair(id, 'old-to-new'));
      if (fromNew) {
        let answer: E | undefined;
        let ok = true;
        try {
          answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
          rt.recordSecondary(true);
        } catch {
          ok = false;
          rt.recordSecondary(false);
        }
        if (ok && answer !== undefined) {
          rt.shadow(key, answer, 'new', st);
          return answer;
        }
        const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
        if (ok && fallback !== undefined && rt.lazy) rt.track(rt.lazyCopy(key, 'new'));
        return fallback;
      }
      const answer = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
      if (rules.compare) rt.shadow(key, answer, 'old', st);
      return answer;
    }
    const answer = await call(st, 'new', 'get', (s, signal) => s.get(key, { signal }));
    if (answer !== undefined || !rules.fallbackToOld) {
      if (rules.compare) rt.shadow(key, answer, 'new', st);
      return answer;
    }
    // A miss in new: deleted there (tombstone), or not migrated yet (old has it).
    if (await call(st, 'new', 'getTombstone', (s, signal) => s.getTombstone(key, { signal }))) return undefined;
    try {
      const fallback = await call(st, 'old', 'get', (s, signal) => s.get(key, { signal }));
      rt.recordSecondary(true);
      if (fallback !== undefined && rt.lazy) rt.track(rt.lazyCopy(key, 'new'));
      return fallback;
    } catch {
      rt.recordSecondary(false);
      return undefined;
    }
  }

  async function read(key: K): Promise<E | undefined> {
    const st = await rt.currentState();
    const answer = await readOnce(key, st);
    // A read that outlived its phase is read again under the current one.
    if (await rt.stillValid(st)) return answer;
    return readOnce(key, await rt.currentState());
  }

  /** Merges two answers for the same keys: the authority's, or the newer version, never a key deleted in new. */
  async function merge(primary: readonly E[], secondary: readonly E[]): Promise<E[]> {
    const byId = new Map<string, E>();
    for (const e of primary) byId.set(keyId(rt.new.keyOf(e)), e);
    for (const e of secondary) {
      const id = keyId(rt.old.keyOf(e));
      const mine = byId.get(id);
      if (mine === undefined) {
        if (!(await rt.new.getTombstone(rt.old.keyOf(e)))) byId.set(id, e);
      } else {
        const vm = rt.new.versionOf(mine);
        const vo = rt.old.versionOf(e);
        if (vm !== undefined && vo !== undefined && compareVersions(vo, vm) > 0) byId.set(id, e);
      }
    }
    return [...byId.values()].sort((a, b) => compareKeys(rt.new.keyOf(a), rt.new.keyOf(b)));
  }

  const merges = (st: PhaseState): boolean => PHASE_RULES[st.phase].authoritative === 'new' && PHASE_RULES[st.phase].fallbackToOld;

  async function firstPage(s: Store<K, E>, after: K | undefined, limit: number): Promise<E[]> {
    for await (const chunk of s.scan({ after, chunkSize: limit })) return chunk;
    return [];
  }

  return {
    get: read,
    async getMany(keys) {
      return Promise.all(keys.map((k) => read(k)));
    },
    async put(entity) {
      const key = rt.old.keyOf(entity);
      await write(key, async (s, signal) => s.put(entity, { signal }).then(() => true), 'put');
    },
    async delete(key) {
      return write(key, (s, signal) => s.delete(key, { signal }), 'delete');
    },
    async list(options = {}) {
      const limit = options.limit ?? 100;
      const st = await rt.currentState();
      const from = authority(st);
      const primary = await call(st, from, 'list', () => firstPage(store(from), options.after, limit));
      if (!merges(st)) return primary;
      let secondary: E[] = [];
      try {
        secondary = await call(st, 'old', 'list', () => firstPage(rt.old, options.after, limit));
      } catch {
        rt.recordSecondary(false);
      }
      return (await merge(primary, secondary)).slice(0, limit);
    },
    async query(name, ...args) {
      const def = rt.queries?.[name];
      if (!def) throw new MidairError('INVALID_ARGUMENT', `query "${name}" is not declared in the migration's queries option`);
      const st = await rt.currentState();
      const from = authority(st);
      const run = (side: Side): Promise<E[]> => rt.timed(`query ${name} on ${side}`, () => (def[side] as (...a: readonly unknown[]) => Promise<E[]>)(...args));
      const primary = await run(from);
      if (!merges(st)) return primary;
      let secondary: E[] = [];
      try {
        secondary = await run('old');
      } catch {
        rt.recordSecondary(false);
      }
      return merge(primary, secondary);
    },
    close: () => rt.close(),
  };
}
