import { describe, expect, it } from 'vitest';
import { deferred, gatedControl, item, rig, tick } from './setup.js';

describe('phase behaviour', () => {
  it('old-only: writes and reads old alone', async () => {
    const r = await rig();
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    await r.migration.settle();
    expect(await r.oldStore.get(1)).toEqual(item(1, 1));
    expect(await r.newStore.get(1)).toBeUndefined();
    await r.newStore.put(item(1, 9, 'new only'));
    expect(await repo.get(1)).toEqual(item(1, 1));
  });

  it('dual-write: writes old, then syncs new; deletes leave a tombstone in new; reads stay on old', async () => {
    const r = await rig();
    await r.goTo('dual-write');
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    await repo.put(item(2, 1));
    await repo.delete(2);
    await r.migration.settle();
    expect(await r.newStore.get(1)).toEqual(item(1, 1));
    expect(await r.newStore.get(2)).toBeUndefined();
    expect(await r.newStore.getTombstone(2)).toBeDefined();
    await r.newStore.put(item(1, 5, 'drifted'));
    expect(await repo.get(1)).toEqual(item(1, 1));
  });

  it('shadow-read: answers from old without waiting for new, then reports a mismatch by key and field names only', async () => {
    const r = await rig();
    await r.goTo('shadow-read');
    await r.oldStore.put(item(1, 1, 'old value'));
    await r.newStore.put(item(1, 1, 'new value'));
    const mismatches: unknown[] = [];
    r.migration.on('mismatch', (m) => mismatches.push(m));
    const hold = deferred();
    r.newFaults.gate = hold.promise; // every call on new now waits
    const answer = await r.migration.repository().get(1);
    expect(answer).toEqual(item(1, 1, 'old value')); // served while new is still held
    expect(mismatches).toEqual([]);
    r.newFaults.gate = undefined;
    hold.resolve();
    await r.migration.settle();
    expect(mismatches).toEqual([{ keyId: 'n1', fields: ['v'], phase: 'shadow-read' }]);
    expect(r.migration.stats).toMatchObject({ comparisons: 1, mismatches: 1 });
  });

  it('shadow-read: comparisons queued while new is slow go together in one read of new, and each key is still compared', async () => {
    const r = await rig({ shadow: { recheckMs: 0, maxInFlight: 1000 } });
    await r.goTo('shadow-read');
    for (let i = 0; i < 40; i++) {
      await r.oldStore.put(item(i, 1, `v${i}`));
      await r.newStore.put(item(i, 1, i === 17 ? 'differs' : `v${i}`));
    }
    const reads: number[] = [];
    const getMany = r.newStore.getMany.bind(r.newStore);
    r.newStore.getMany = async (keys, options) => {
      reads.push(keys.length);
      return getMany(keys, options);
    };
    const mismatches: { keyId: string }[] = [];
    r.migration.on('mismatch', (m) => mismatches.push(m));
    const hold = deferred();
    r.newFaults.gate = hold.promise; // the first read of new waits; the served calls go on
    const repo = r.migration.repository();
    await repo.get(0);
    await new Promise((resolve) => setImmediate(resolve)); // the first comparison's read has started
    for (let i = 1; i < 40; i++) {
      await repo.get(i);
      await new Promise((resolve) => setImmediate(resolve)); // one served call per turn, as requests arrive
    }
    r.newFaults.gate = undefined;
    hold.resolve();
    await r.migration.settle();
    // One read for the first comparison, one for the 39 queued behind it.
    expect(reads).toEqual([1, 39]);
    expect(r.migration.stats).toMatchObject({ comparisons: 40, mismatches: 1 });
    expect(mismatches.map((m) => m.keyId)).toEqual(['n17']);
  });

  it('shadow-read: includes values only when asked, and ignores configured fields', async () => {
    const r = await rig({ shadow: { recheckMs: 0, includeValues: true, ignoreFields: ['version'] } });
    await r.goTo('shadow-read');
    await r.oldStore.put(item(1, 1, 'a'));
    await r.newStore.put(item(1, 2, 'b'));
    await r.oldStore.put(item(2, 1, 'same'));
    await r.newStore.put(item(2, 7, 'same'));
    const seen: { keyId: string; values?: unknown }[] = [];
    r.migration.on('mismatch', (m) => seen.push(m));
    const repo = r.migration.repository();
    await repo.get(1);
    await repo.get(2);
    await r.migration.settle();
    expect(seen).toEqual([
      { keyId: 'n1', fields: ['v'], phase: 'shadow-read', values: { old: item(1, 1, 'a'), new: item(1, 2, 'b') } },
    ]);
  });

  it('ramp: a stable share of keys reads new; allow-listed keys always do; a key with a pending repair reads old', async () => {
    const r = await rig({ rampAllow: [7] });
    await r.goTo('ramp', 0);
    for (let id = 0; id < 200; id++) {
      await r.oldStore.put(item(id, 1, 'old'));
      await r.newStore.put(item(id, 1, 'new'));
    }
    const repo = r.migration.repository();
    const fromNew = async (): Promise<Set<number>> => {
      const s = new Set<number>();
      for (let id = 0; id < 200; id++) if ((await repo.get(id))?.v === 'new') s.add(id);
      return s;
    };
    expect([...(await fromNew())]).toEqual([7]);
    await r.migration.setRamp(50, { reason: 'test: half' });
    const half = await fromNew();
    expect(half.size).toBeGreaterThan(60);
    expect(half.size).toBeLessThan(140);
    expect(await fromNew()).toEqual(half); // stable: the same keys every time
    await r.migration.setRamp(100, { reason: 'test: all' });
    expect((await fromNew()).size).toBe(200);
    await r.control.enqueueRepairs('items', 'old-to-new', [{ keyId: 'n3', reason: 'TEST' }]);
    expect((await repo.get(3))?.v).toBe('old');
  });

  it('ramp: a write waits for the sync to new (or queues its repair) before returning, so the next read sees it', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('ramp', 100);
    const repo = r.migration.repository();
    await repo.put(item(1, 1, 'first'));
    expect(await r.newStore.get(1)).toEqual(item(1, 1, 'first'));
    r.newFaults.down = true;
    await repo.put(item(1, 2, 'second'));
    r.newFaults.down = false;
    expect(await r.newStore.get(1)).toEqual(item(1, 1, 'first')); // new is stale…
    expect(await repo.get(1)).toEqual(item(1, 2, 'second')); // …but the pending repair routes the read to old
    expect(await r.control.repairDepth('items')).toBe(1);
  });

  it('new-primary: writes new first, reads new, falls back to old on a miss unless new has a tombstone', async () => {
    const r = await rig();
    await r.goTo('new-primary');
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    await r.migration.settle();
    expect(await r.newStore.get(1)).toEqual(item(1, 1));
    expect(await r.oldStore.get(1)).toEqual(item(1, 1));
    await r.oldStore.put(item(2, 1, 'only in old'));
    expect(await repo.get(2)).toEqual(item(2, 1, 'only in old'));
    await r.oldStore.put(item(3, 1, 'deleted in new'));
    await r.newStore.delete(3);
    expect(await repo.get(3)).toBeUndefined();
  });

  it('lazy migration: a read that misses new copies the entity from old', async () => {
    const r = await rig({ lazy: true });
    await r.goTo('new-primary');
    await r.oldStore.put(item(5, 1, 'lazy'));
    const copied: string[] = [];
    r.migration.on('lazy-copied', (e) => copied.push(e.keyId));
    expect(await r.migration.repository().get(5)).toEqual(item(5, 1, 'lazy'));
    await r.migration.settle();
    expect(await r.newStore.get(5)).toEqual(item(5, 1, 'lazy'));
    expect(copied).toEqual(['n5']);
  });

  it('old-read-only and complete: writes go to new only', async () => {
    const r = await rig();
    await r.goTo('old-read-only');
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    await r.migration.settle();
    expect(await r.newStore.get(1)).toEqual(item(1, 1));
    expect(await r.oldStore.get(1)).toBeUndefined();
    await r.goTo('complete');
    await repo.put(item(2, 1));
    await r.oldStore.put(item(3, 1, 'old only'));
    await r.migration.settle();
    expect(await r.oldStore.get(2)).toBeUndefined();
    expect(await repo.get(3)).toBeUndefined(); // complete: no fallback
  });

  it('lists and queries merge both sides where new may not hold everything, preferring the newer version and honouring tombstones', async () => {
    const r = await rig({
      queries: {
        withV: {
          old: async (v: string) => (await r.oldStore.getMany([1, 2, 3, 4])).filter((e) => e?.v === v) as never,
          new: async (v: string) => (await r.newStore.getMany([1, 2, 3, 4])).filter((e) => e?.v === v) as never,
        },
      },
    });
    await r.goTo('old-read-only');
    await r.newStore.put(item(1, 2, 'x'));
    await r.oldStore.put(item(1, 1, 'x'));
    await r.oldStore.put(item(2, 1, 'x')); // only in old: not migrated yet
    await r.newStore.put(item(3, 1, 'x'));
    await r.oldStore.put(item(3, 4, 'x')); // old newer (a late lazy copy): the newer wins
    await r.oldStore.put(item(4, 1, 'x'));
    await r.newStore.delete(4); // deleted in new: must not come back from old
    const repo = r.migration.repository();
    expect(await repo.list({ limit: 10 })).toEqual([item(1, 2, 'x'), item(2, 1, 'x'), item(3, 4, 'x')]);
    expect(await repo.list({ after: 1, limit: 1 })).toEqual([item(2, 1, 'x')]);
    expect(await repo.query('withV', 'x')).toEqual([item(1, 2, 'x'), item(2, 1, 'x'), item(3, 4, 'x')]);
    await expect(repo.query('nope')).rejects.toThrow(/query "nope" is not declared/);
  });
});

describe('failures of the non-authoritative store', () => {
  it('never reach the client in best-effort phases: the key is queued and the repairer makes new equal old', async () => {
    const r = await rig();
    await r.goTo('shadow-read');
    r.newFaults.down = true;
    const repo = r.migration.repository();
    const failed: string[] = [];
    r.migration.on('second-write-failed', (e) => failed.push(e.keyId));
    for (let id = 1; id <= 5; id++) await repo.put(item(id, 1));
    await repo.delete(5);
    expect(await repo.get(1)).toEqual(item(1, 1));
    await r.migration.settle();
    expect(failed.length).toBe(6);
    r.newFaults.down = false;
    await r.migration.drainRepairs();
    for (let id = 1; id <= 5; id++) expect(await r.newStore.get(id)).toEqual(await r.oldStore.get(id));
    expect(await r.newStore.getTombstone(5)).toBeDefined();
  });

  it('a hanging new store costs at most the timeout, never an error', async () => {
    const r = await rig({ timeoutMs: 30 });
    await r.goTo('ramp', 100);
    await r.oldStore.put(item(1, 1));
    r.newFaults.hangRate = 1;
    r.newFaults.hangMs = 200;
    const repo = r.migration.repository();
    expect(await repo.get(1)).toEqual(item(1, 1));
    await repo.put(item(1, 2));
    r.newFaults.hangRate = 0;
    expect(await repo.get(1)).toEqual(item(1, 2));
  });
});

describe('strict dual write', () => {
  it('fails the call and undoes the first write when the second store fails; one switch goes back to best-effort', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('dual-write');
    await r.migration.setStrict(true, { reason: 'test: strict' });
    const repo = r.migration.repository();
    await repo.put(item(1, 1));
    expect(await r.newStore.get(1)).toEqual(item(1, 1));
    r.newFaults.down = true;
    await expect(repo.put(item(1, 2, 'rejected'))).rejects.toMatchObject({ code: 'CONNECTION' });
    await expect(repo.put(item(2, 1, 'rejected'))).rejects.toThrow(/strict dual write/);
    expect(await r.oldStore.get(1)).toEqual(item(1, 1)); // compensated
    expect(await r.oldStore.get(2)).toBeUndefined();
    await r.migration.setStrict(false, { reason: 'test: new is down, fall back to best-effort' });
    await repo.put(item(2, 1, 'accepted'));
    expect(await r.oldStore.get(2)).toEqual(item(2, 1, 'accepted'));
    expect((await r.migration.auditLog(2)).map((a) => a.action)).toEqual(['strict', 'strict']);
  });
});

describe('auto-halt', () => {
  it('falls back from ramp to shadow-read when the new store fails too often, and says why in the audit log', async () => {
    const r = await rig({ autoHalt: { minSamples: 10, maxErrorRate: 0.3 } });
    await r.goTo('ramp', 100);
    for (let id = 0; id < 30; id++) await r.oldStore.put(item(id, 1));
    r.newFaults.down = true;
    const halted: unknown[] = [];
    r.migration.on('halted', (h) => halted.push(h));
    const repo = r.migration.repository();
    for (let id = 0; id < 30; id++) expect(await repo.get(id)).toEqual(item(id, 1));
    await r.migration.settle();
    expect(r.migration.state.phase).toBe('shadow-read');
    expect(halted).toHaveLength(1);
    const [entry] = await r.migration.auditLog(1);
    expect(entry).toMatchObject({
      action: 'halt',
      forced: false,
      from: { phase: 'ramp' },
      to: { phase: 'shadow-read' },
    });
    expect(entry?.reason).toMatch(/^auto-halt: the new store failed \d+ of \d+ calls in 60 s/);
  });

  it('regression: a second instance does not walk the phase back again on failures it counted before the first halt', async () => {
    const r = await rig({ autoHalt: { minSamples: 10, maxErrorRate: 0.3 } });
    const other = await r.instance({ instanceId: 'second' });
    await r.goTo('ramp', 100);
    await other.awaitFleet();
    for (let id = 0; id < 40; id++) await r.oldStore.put(item(id, 1));
    r.newFaults.down = true;
    // The second instance fails just under its threshold count, then the first one halts.
    const theirs = other.repository();
    for (let id = 0; id < 9; id++) await theirs.put(item(id, 2));
    const mine = r.migration.repository();
    for (let id = 10; id < 30 && r.migration.state.phase === 'ramp'; id++) await mine.put(item(id, 2));
    await r.migration.settle();
    expect(r.migration.state.phase).toBe('shadow-read');
    while (other.state.phase !== 'shadow-read') await new Promise((resolve) => setTimeout(resolve, 5));
    // Its failures were counted under ramp; one more in shadow-read must not tip it into a second halt.
    await theirs.put(item(30, 2));
    r.newFaults.down = false;
    for (let id = 31; id < 40; id++) await theirs.put(item(id, 2));
    await other.settle();
    expect((await r.migration.auditLog(5)).filter((a) => a.action === 'halt')).toHaveLength(1);
    expect((await r.control.getState('items'))?.phase).toBe('shadow-read');
  });

  it('falls back when shadow comparisons mismatch too often', async () => {
    const r = await rig({ autoHalt: { minSamples: 5, maxMismatchRate: 0.2 } });
    await r.goTo('shadow-read');
    for (let id = 0; id < 10; id++) {
      await r.oldStore.put(item(id, 1, 'a'));
      await r.newStore.put(item(id, 1, 'b'));
    }
    const repo = r.migration.repository();
    for (let id = 0; id < 10; id++) await repo.get(id);
    await r.migration.settle();
    expect(r.migration.state.phase).toBe('dual-write');
    expect((await r.migration.auditLog(1))[0]?.reason).toMatch(/shadow comparisons mismatched/);
  });
});

describe('the fleet', () => {
  it('an advance waits until every live instance acknowledged the current phase; an instance that stops heartbeating expires', async () => {
    const r = await rig();
    const holder: { gate: Promise<void> | undefined } = { gate: undefined };
    const second = await r.instance({ instanceId: 'second', control: gatedControl(r.control, holder) });
    expect((await r.migration.fleet()).map((i) => i.instanceId).sort()).toContain('second');
    await r.migration.advance({ reason: 'test' });
    await tick(50); // within a few polls
    expect(second.state.phase).toBe('dual-write');
    const frozen = deferred();
    holder.gate = frozen.promise; // the second instance stops polling and heartbeating
    try {
      // The second instance acknowledged version 2, so the move to 3 need not wait…
      await r.migration.advance({ reason: 'test: second is one behind, allowed' });
      // …but the move to 4 does, until the second instance expires (200 ms after its last heartbeat).
      const started = Date.now();
      await r.migration.advance({ reason: 'test: second will expire' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      expect((await r.migration.fleet()).map((i) => i.instanceId)).not.toContain('second');
      expect(second.state.version).toBe(2); // it never saw 3 or 4, and it was never two behind while live
    } finally {
      holder.gate = undefined;
      frozen.resolve();
    }
  });

  it('the audit log records who, when, from, to, why and whether forced', async () => {
    const r = await rig({ actor: 'ops@test' });
    await r.migration.advance({ reason: 'start dual writes' });
    await r.migration.advance({ reason: 'compare reads', force: true });
    const log = await r.migration.auditLog();
    expect(log.map((e) => [e.action, e.from?.phase, e.to.phase, e.actor, e.reason, e.forced])).toEqual([
      ['advance', 'dual-write', 'shadow-read', 'ops@test', 'compare reads', true],
      ['advance', 'old-only', 'dual-write', 'ops@test', 'start dual writes', false],
      ['init', undefined, 'old-only', 'ops@test', 'migration created', false],
    ]);
    expect(log[0]?.at).toBeInstanceOf(Date);
  });

  it('crossing into new-primary freezes writes briefly (they wait, they do not fail) and drains the repair queue first', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('ramp', 50);
    const repo = r.migration.repository();
    r.newFaults.down = true;
    await repo.put(item(1, 1, 'queued'));
    r.newFaults.down = false;
    expect(await r.control.repairDepth('items')).toBe(1);
    const advancing = r.migration.advance({ reason: 'cutover' });
    await tick(15);
    const write = repo.put(item(2, 1, 'during the freeze'));
    await advancing;
    await write;
    expect(r.migration.state.phase).toBe('new-primary');
    expect(await r.newStore.get(1)).toEqual(item(1, 1, 'queued')); // drained before new became authoritative
    expect(await r.control.repairDepth('items')).toBe(0);
    expect((await r.migration.auditLog(2)).map((a) => [a.action, a.to.writesPaused])).toEqual([
      ['advance', false],
      ['pause', true],
    ]);
  });

  it('rollback from new-primary re-syncs old from new before old is authoritative again', async () => {
    const r = await rig({ repair: { enabled: false } });
    await r.goTo('new-primary');
    const repo = r.migration.repository();
    r.oldFaults.down = true;
    await repo.put(item(1, 1, 'only new has it'));
    await r.migration.settle();
    r.oldFaults.down = false;
    expect(await r.oldStore.get(1)).toBeUndefined();
    await r.migration.rollback({ reason: 'test: go back' });
    expect(r.migration.state.phase).toBe('ramp');
    expect(await r.oldStore.get(1)).toEqual(item(1, 1, 'only new has it'));
    expect(await repo.get(1)).toEqual(item(1, 1, 'only new has it'));
  });
});
