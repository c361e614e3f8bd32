import { describe, expect, it } from 'vitest';
import { keyId, MidairError } from '../../src/index.js';
import { intercept, replaceMember } from './intercept.js';
import { deferred, gatedControl, item, rig, type Item } from './setup.js';

const codeOf = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof MidairError ? e.code : String(e)),
  );

describe('safety: regressions', () => {
  it('regression: strict mode compensation erased a concurrently acknowledged write', async () => {
    const bStarted = deferred();
    let failA = true;
    const r = await rig();
    const newSide = intercept<number, Item>(r.newStore, {
      syncKey: async (next, key, read, o) => {
        const value = await read();
        if (failA && value?.v === 'A') {
          failA = false;
          await bStarted.promise; // B is under way before A's second store fails
          throw new MidairError('CONNECTION', 'new refused A: injected');
        }
        return next(key, async () => Promise.resolve(value), o);
      },
    });
    const m = await r.instance({ new: newSide, instanceId: 'strict' });
    await r.goTo('dual-write');
    await r.migration.setStrict(true, { reason: 'test: strict' });
    await m.awaitFleet();
    const repo = m.repository();
    await repo.put(item(1, 0, 'v0'));
    const a = repo.put(item(1, 1, 'A'));
    const b = repo.put(item(1, 2, 'B'));
    bStarted.resolve();
    expect(await codeOf(a)).toBe('CONNECTION');
    expect(await codeOf(b)).toBe('resolved');
    await m.settle();
    expect((await r.oldStore.get(1))?.v).toBe('B');
    expect((await r.newStore.get(1))?.v).toBe('B');
  });

  it('regression: a closed Migration still served calls and rejoined the fleet', async () => {
    const r = await rig();
    const holder: { gate: Promise<void> | undefined } = { gate: undefined };
    const m = await r.instance({ instanceId: 'closing', control: gatedControl(r.control, holder) });
    const hold = deferred();
    holder.gate = hold.promise; // its next refresh (and heartbeat) is held in flight
    await new Promise((resolve) => setTimeout(resolve, 30));
    const closing = m.close();
    holder.gate = undefined;
    hold.resolve();
    await closing;
    const ids = (await r.control.instances('items', new Date(0))).map((i) => i.instanceId);
    expect(ids).not.toContain('closing');
    expect(m.lifecycle).toBe('closed');
    expect(await codeOf(m.repository().get(1))).toBe('CLOSED');
    expect(await codeOf(m.repository().put(item(1, 1)))).toBe('CLOSED');
    await new Promise((resolve) => setTimeout(resolve, 50)); // several poll intervals: no timer of it may heartbeat again
    expect((await r.control.instances('items', new Date(0))).map((i) => i.instanceId)).not.toContain('closing');
  });

  it('regression: a read in old-read-only brought back a deleted, superseded value', async () => {
    const r = await rig();
    await r.goTo('old-read-only');
    await r.oldStore.put(item(3, 1, 'stale in old'));
    await r.newStore.put(item(3, 2, 'deleted in new'));
    await r.newStore.delete(3); // tombstone in new
    let recreated = false;
    const recreate = async (): Promise<void> => {
      if (recreated) return;
      recreated = true;
      await r.newStore.put(item(3, 4, 'recreated')); // lands between the first read of new and the next
    };
    const newSide = intercept<number, Item>(r.newStore, {
      get: async (next, key, o) => {
        const v = await next(key, o);
        await recreate();
        return v;
      },
      readKey: async (next, key, o) => {
        const v = await next(key, o);
        await recreate();
        return v;
      },
    });
    const m = await r.instance({ new: newSide, instanceId: 'reader' });
    const answer = await m.repository().get(3);
    expect(answer?.v).not.toBe('stale in old');
  });

  it("regression: a list in old-read-only merged in old's copy of a key deleted in new", async () => {
    const r = await rig();
    await r.goTo('old-read-only');
    await r.oldStore.put(item(4, 1, 'stale in old'));
    await r.newStore.put(item(4, 2, 'x'));
    await r.newStore.delete(4);
    const page = await r.migration.repository().list();
    expect(page.map((e) => e.id)).not.toContain(4);
  });

  it('regression: an instance that died between its two writes left the other store without the write', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    const holder: { gate: Promise<void> | undefined } = { gate: undefined };
    const dead = deferred();
    const deadNew = intercept<number, Item>(r.newStore, {
      syncKey: async () => {
        holder.gate = dead.promise; // the process dies here: nothing of it runs again
        await dead.promise;
        throw new MidairError('CONNECTION', 'never');
      },
    });
    const victim = await r.instance({
      new: deadNew,
      instanceId: 'victim',
      control: gatedControl(r.control, holder),
      repair: { enabled: false },
    });
    await victim.awaitFleet();
    try {
      await victim.repository().put(item(7, 1, 'acknowledged'));
      expect((await r.oldStore.get(7))?.v).toBe('acknowledged');
      await r.migration.drainRepairs();
      expect((await r.newStore.get(7))?.v).toBe('acknowledged');
    } finally {
      holder.gate = undefined;
      dead.resolve();
    }
  });

  it('regression: a drain re-syncs every queued key, also behind a full round of entries it keeps (a queue of 620 kept 120 keys never re-synced)', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    const keys = Array.from({ length: 620 }, (_, i) => i + 1);
    for (const k of keys) await r.oldStore.put(item(k, 1, `old ${k}`));
    // Second writes of the current version that failed: their writes may still land, so the drain keeps each entry
    // (re-synced, queued again as an intent) — and the oldest entries are claimed first, round after round.
    const epoch = r.migration.state.version;
    await r.control.enqueueRepairs(
      'items',
      'old-to-new',
      keys.map((k) => ({ keyId: keyId(k), reason: 'TIMEOUT', epoch })),
    );
    await r.migration.drainRepairs();
    expect((await r.newStore.getMany(keys)).filter((e) => e === undefined)).toHaveLength(0);
  });

  it('regression: a write whose outcome was unknown was reconciled only once', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('new-primary');
    const late = deferred();
    const landed = deferred();
    const lateNew = intercept<number, Item>(r.newStore, {
      put: async (next, e, o) => {
        if (e.v !== 'late') return next(e, o);
        void late.promise.then(async () => {
          await next(e, { ...o, signal: undefined }); // commits after the caller gave up
          landed.resolve();
        });
        return new Promise<void>(() => undefined); // the caller's timeout fires first
      },
    });
    const m = await r.instance({ new: lateNew, instanceId: 'writer', repair: { enabled: false } });
    await m.awaitFleet();
    expect(await codeOf(m.repository().put(item(8, 3, 'late')))).toBe('TIMEOUT');
    await r.migration.drainRepairs(); // the first reconciliation: new does not hold it yet
    late.resolve();
    await landed.promise;
    await r.migration.drainRepairs(); // the re-check after the longest time it could still land
    expect((await r.newStore.get(8))?.v).toBe('late');
    expect((await r.oldStore.get(8))?.v).toBe('late');
  });

  it('regression: an instance paused past every expiry landed its write after the cutover', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('ramp', 0);
    const holder: { gate: Promise<void> | undefined } = { gate: undefined };
    const reached = deferred();
    const resume = deferred();
    let landed: Promise<void> | undefined;
    const pausedOld = intercept<number, Item>(r.oldStore, {
      put: (next, e, o) => {
        if (e.v !== 'stale') return next(e, o);
        holder.gate = resume.promise; // the whole process stops here, past every expiry
        reached.resolve();
        landed = resume.promise.then(async () => next(e, { ...o, signal: undefined })); // only the fence may refuse it
        return landed;
      },
    });
    const paused = await r.instance({
      old: pausedOld,
      instanceId: 'paused',
      control: gatedControl(r.control, holder),
      repair: { enabled: false },
    });
    await paused.awaitFleet();
    const write = paused.repository().put(item(9, 1, 'stale'));
    await reached.promise;
    await r.migration.advance({ reason: 'test: cut over while it sleeps' });
    expect(r.migration.state.phase).toBe('new-primary');
    await r.migration.repository().put(item(9, 2, 'current'));
    holder.gate = undefined;
    resume.resolve();
    expect(await codeOf(write)).not.toBe('resolved');
    expect(await codeOf(landed ?? Promise.resolve())).toBe('FENCED');
    await r.migration.drainRepairs();
    expect((await r.newStore.get(9))?.v).toBe('current');
    expect((await r.oldStore.get(9))?.v).toBe('current');
  });

  it('regression: a repair that could never succeed wedged the migration', async () => {
    const r = await rig({ repair: { enabled: false, maxAttempts: 2 } });
    await r.goTo('dual-write');
    const refusing = intercept<number, Item>(r.newStore, {
      syncKey: async (next, key, read, o) => {
        if (key === 5)
          throw new MidairError('UNIQUE_VIOLATION', 'syncKey on new (items) failed: a unique constraint was violated', {
            details: { store: 'new', constraint: 'items_v_key' },
          });
        return next(key, read, o);
      },
    });
    const m = await r.instance({ new: refusing, instanceId: 'refused', repair: { enabled: false, maxAttempts: 2 } });
    await m.awaitFleet();
    await m.repository().put(item(5, 1, 'clash'));
    await m.settle();
    await m.drainRepairs(undefined, Date.now() + 5000);
    expect(await r.control.repairDepth('items')).toBe(0);
    const parked = await r.control.parkedRepairs('items');
    expect(parked.map((p) => [p.keyId, p.problem.code, p.problem.constraint, p.problem.store])).toEqual([
      ['n5', 'UNIQUE_VIOLATION', 'items_v_key', 'new'],
    ]);
  });

  it('regression: the cutover freeze was entered with any backlog, and a drain that could not finish failed writes', async () => {
    const r = await rig({ repair: { enabled: false }, maxFreezeBacklog: 3, freezeDrainMs: 50 });
    await r.goTo('ramp', 0);
    await r.control.enqueueRepairs(
      'items',
      'old-to-new',
      [1, 2, 3, 4].map((n) => ({ keyId: `n${n}`, reason: 'TEST' })),
    );
    const before = await r.control.getState('items');
    expect(await codeOf(r.migration.advance({ reason: 'test' }))).toBe('BLOCKED');
    expect((await r.control.getState('items'))?.version).toBe(before?.version); // refused: nothing written
    await r.migration.drainRepairs();

    const stuck = intercept<number, Item>(r.newStore, {
      syncKey: async (next, key, read, o) => {
        if (key === 6) throw new MidairError('CONNECTION', 'new unreachable for this key: injected');
        return next(key, read, o);
      },
    });
    const operator = await r.instance({
      new: stuck,
      instanceId: 'operator',
      repair: { enabled: false },
      maxFreezeBacklog: 3,
      freezeDrainMs: 50,
    });
    await r.control.enqueueRepairs('items', 'old-to-new', [{ keyId: 'n6', reason: 'TEST' }]);
    const error = await operator.advance({ reason: 'test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MidairError);
    expect((error as MidairError).code).toBe('BLOCKED');
    expect((error as MidairError).message).toMatch(/abandoned/);
    const after = await r.control.getState('items');
    expect(after).toMatchObject({ phase: 'ramp', writesPaused: false });
    await r.migration.repository().put(item(10, 1)); // writes go on
  });

  it("regression: a frozen reader fell back to old's stale copy when new failed", async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('ramp', 0);
    await r.oldStore.put(item(12, 1, 'stale in old'));
    await r.newStore.put(item(12, 2, 'written under the incoming authority'));
    // The fleet is frozen for the cutover, and a neighbour already on new-primary queued the key new → old.
    const s = await r.control.getState('items');
    if (!s) throw new Error('no state');
    await r.control.compareAndSet(
      'items',
      s.version,
      { ...s, writesPaused: true },
      { actor: 'test', action: 'pause', reason: 'test: freeze', forced: false },
    );
    await r.control.enqueueRepairs('items', 'new-to-old', [{ keyId: 'n12', reason: 'CONNECTION' }]);
    let failing = false;
    const flaky = intercept<number, Item>(r.newStore, {
      get: async (next, key, o) => {
        if (failing) throw new MidairError('CONNECTION', 'new unreachable: injected');
        return next(key, o);
      },
    });
    const reader = await r.instance({ new: flaky, instanceId: 'frozen-reader', repair: { enabled: false } });
    expect((await reader.repository().get(12))?.v).toBe('written under the incoming authority');
    failing = true;
    const error = await reader
      .repository()
      .get(12)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MidairError);
    expect((error as MidairError).details.authoritative).toBe(true);
  });

  it('regression: a fence that could not rise left the fleet frozen for good', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('ramp', 0);
    let refuse = true;
    const fencing = r.newStore.fencing;
    if (!fencing) throw new Error('the memory store has fences');
    const stubborn = replaceMember(r.newStore, 'fencing', {
      fenceOf: (migration, o) => fencing.fenceOf(migration, o),
      raiseFence: async (fence, o) => {
        const state = await r.control.getState('items');
        if (refuse && state?.writesPaused) throw new MidairError('CONNECTION', 'new unreachable: injected');
        return fencing.raiseFence(fence, o);
      },
    });
    const operator = await r.instance({ new: stubborn, instanceId: 'operator', repair: { enabled: false } });
    expect(await codeOf(operator.advance({ reason: 'test: cut over' }))).toBe('CONNECTION');
    expect(await r.control.getState('items')).toMatchObject({ phase: 'ramp', writesPaused: false });
    await r.migration.awaitFleet();
    await r.migration.repository().put(item(13, 1, 'after the abandoned cutover'));
    expect((await r.newStore.get(13))?.v).toBe('after the abandoned cutover');
    refuse = false;
    await operator.advance({ reason: 'test: cut over again' });
    expect(operator.state.phase).toBe('new-primary');
  });

  it('regression: repairs that could not be queued piled up in memory while the control store was down; now the write is refused, nothing written', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    let down = false;
    const control = new Proxy(r.control, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const real = (value as (...a: unknown[]) => unknown).bind(target);
        if (prop !== 'enqueueRepairs') return real;
        return async (...args: unknown[]) => {
          if (down) throw new MidairError('CONNECTION', 'control store unreachable: injected');
          return await real(...args);
        };
      },
    });
    const m = await r.instance({ control, instanceId: 'cut-off', repair: { enabled: false } });
    await m.awaitFleet();
    down = true;
    for (let i = 0; i < 50; i++) expect(await codeOf(m.repository().put(item(100 + i, 1)))).toBe('CONNECTION');
    expect(await r.oldStore.count()).toBe(0);
    expect(await r.newStore.count()).toBe(0);
    down = false;
    await m.repository().put(item(200, 1));
    await m.settle();
    expect((await r.newStore.get(200))?.v).toBe('v1');
  });

  it("regression: a failed second write kept its writer's epoch and blocked the repairs gate until a phase change the gate itself blocked", async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    let failing = true;
    const flaky = intercept<number, Item>(r.newStore, {
      syncKey: async (next, key, read, o) => {
        if (failing) throw new MidairError('CONNECTION', 'new unreachable: injected');
        return next(key, read, o);
      },
    });
    const m = await r.instance({ new: flaky, instanceId: 'writer', repair: { enabled: false } });
    await m.awaitFleet();
    await m.repository().put(item(14, 1));
    await m.settle();
    failing = false;
    await m.drainRepairs();
    expect((await r.newStore.get(14))?.v).toBe('v1');
    const repairs = (await m.gates('ramp')).find((g) => g.gate === 'repairs');
    expect(repairs?.ok).toBe(true);
  });

  it('regression: leaving old-read-only, a write still in flight there landed after the re-sync, and old never got it', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('old-read-only');
    const reached = deferred();
    const release = deferred();
    const slowNew = intercept<number, Item>(r.newStore, {
      put: async (next, e, o) => {
        if (e.v !== 'in flight') return next(e, o);
        reached.resolve();
        await release.promise;
        return next(e, { ...o, signal: undefined });
      },
    });
    const writer = await r.instance({
      new: slowNew,
      instanceId: 'writer',
      repair: { enabled: false },
      timeoutMs: 5000,
    });
    await writer.awaitFleet();
    const write = writer.repository().put(item(15, 1, 'in flight'));
    await reached.promise;
    const back = r.migration.rollback({ reason: 'test: back to new-primary' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the switch is published meanwhile; the write has not landed
    release.resolve();
    await write;
    const result = await back;
    expect(result.phase).toBe('new-primary');
    expect((await r.oldStore.get(15))?.v).toBe('in flight');
  });

  it('regression: getMany read every key at once', async () => {
    let inFlight = 0;
    let most = 0;
    const r = await rig();
    const counting = intercept<number, Item>(r.oldStore, {
      get: async (next, key, o) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return next(key, o);
      },
    });
    const m = await r.instance({ old: counting, instanceId: 'many' });
    const keys = Array.from({ length: 200 }, (_, i) => i);
    expect(await m.repository().getMany(keys)).toHaveLength(200);
    expect(most).toBeLessThanOrEqual(16);
  });

  it('regression: rollback() in the library did not re-sync old from new', async () => {
    const r = await rig();
    await r.goTo('new-primary');
    await r.newStore.put(item(11, 1, 'only in new'));
    const back = await r.migration.rollback({ reason: 'test: back to ramp' });
    expect(back.phase).toBe('ramp');
    expect(back.resync?.status).toBe('equal'); // the key only new held was found and copied back
    expect(back.resync?.repair?.repaired).toBe(1);
    expect((await r.oldStore.get(11))?.v).toBe('only in new');
  });

  it('regression: rollback from complete was allowed', async () => {
    const r = await rig();
    await r.goTo('complete');
    const before = await r.control.getState('items');
    expect(await codeOf(r.migration.rollback({ reason: 'test' }))).toBe('INVALID_ARGUMENT');
    expect((await r.control.getState('items'))?.version).toBe(before?.version);
  });
});
