import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MidairError } from '../../src/index.js';
import { item, rig, type Item } from '../migration/setup.js';

async function fill(store: { writeIfNewer(e: Item[]): Promise<unknown> }, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i += 500)
    await store.writeIfNewer(
      Array.from({ length: Math.min(500, from + n - i) }, (_, j) => item(i + j, 1, `old ${i + j}`)),
    );
}

async function keys(store: { scan(o: { chunkSize: number }): AsyncIterable<Item[]> }): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of store.scan({ chunkSize: 1000 })) out.push(...chunk.map((e) => e.id));
  return out;
}

describe('backfill guards', () => {
  for (const phase of ['new-primary', 'old-read-only'] as const) {
    it(`regression: a backfill in ${phase} deleted acknowledged writes new held and old lacked`, async () => {
      const r = await rig();
      await fill(r.oldStore, 50);
      await r.goTo('dual-write');
      expect((await r.migration.backfill()).status).toBe('complete');
      await r.goTo(phase);
      // An acknowledged write new holds and old lacks (new is authoritative here).
      await r.newStore.put(item(1000, 1, 'only in new'));
      const result = await r.migration.backfill({ restart: true });
      expect(result).toMatchObject({ status: 'refused', rowsRead: 0, deleted: 0, error: { code: 'INVALID_ARGUMENT' } });
      expect(result.error?.message).toContain(`in ${phase}, where new is authoritative`);
      expect(result.error?.message).toContain('midair sweep');
      expect(await r.newStore.get(1000)).toEqual(item(1000, 1, 'only in new'));
    });
  }

  it('a backfill stops when the phase moves to one where new is authoritative while it runs, before its prune', async () => {
    const r = await rig();
    await fill(r.oldStore, 100);
    await r.goTo('ramp');
    await r.newStore.put(item(1000, 1, 'only in new'));
    let moved = false;
    const result = await r.migration.backfill({
      chunkSize: 10,
      targetChunkMs: 0,
      allowDeletes: true,
      onProgress: () => {
        if (moved) return;
        moved = true;
        void r.control
          .getState('items')
          .then(
            (s) =>
              s &&
              r.control.compareAndSet(
                'items',
                s.version,
                { ...s, phase: 'new-primary' },
                { actor: 'ops', action: 'advance', reason: 'test', forced: true },
              ),
          );
      },
    });
    expect(result).toMatchObject({ status: 'stopped', deleted: 0, error: { code: 'BLOCKED' } });
    expect(result.error?.message).toContain('the phase changed while the backfill ran');
    expect(await r.newStore.get(1000)).toBeDefined();
  });

  it('a sweep where new is authoritative copies only keys new lacks, never over a delete, and deletes nothing', async () => {
    const r = await rig();
    await fill(r.oldStore, 20);
    await r.goTo('dual-write');
    await r.migration.backfill();
    await r.goTo('new-primary');
    await r.newStore.put(item(1000, 1, 'only in new'));
    await r.newStore.delete(3, { version: 2 }); // deleted in new (authoritative), still in old
    await r.newStore.delete(4, { tombstone: false }); // lost from new without a trace: the sweep copies it
    const result = await r.migration.sweep();
    expect(result).toMatchObject({ status: 'complete', inserted: 1, deleted: 0 });
    expect(await r.newStore.get(3)).toBeUndefined();
    expect(await r.newStore.get(4)).toEqual(item(4, 1, 'old 4'));
    expect(await r.newStore.get(1000)).toBeDefined();
  });

  it('regression: a prune deleted a key whose repair was still pending', async () => {
    const r = await rig();
    await fill(r.oldStore, 200);
    await r.goTo('dual-write');
    // new holds a key old lacks, with a repair pending for it (in either direction): the repairer settles it, not the prune.
    await r.newStore.put(item(5000, 1));
    await r.newStore.put(item(5001, 1));
    await r.control.enqueueRepairs('items', 'old-to-new', [{ keyId: 'n5000', reason: 'TIMEOUT', delayMs: 60_000 }]);
    await r.control.enqueueRepairs('items', 'new-to-old', [{ keyId: 'n5001', reason: 'TIMEOUT', delayMs: 60_000 }]);
    const result = await r.migration.backfill();
    expect(result).toMatchObject({ status: 'complete', deleted: 0 });
    expect(await r.newStore.get(5000)).toBeDefined();
    expect(await r.newStore.get(5001)).toBeDefined();
  });

  it('regression: a prune deleted most of new without asking; now it stops first, and allowDeletes lets it go on', async () => {
    const r = await rig();
    await fill(r.oldStore, 100);
    await fill(r.newStore, 60, 100); // 60 keys old lacks: 37 % of new
    await r.goTo('dual-write');
    const stopped = await r.migration.backfill();
    expect(stopped).toMatchObject({ status: 'stopped', inserted: 100, deleted: 0, error: { code: 'BLOCKED' } });
    expect(stopped.error?.message).toContain('allowDeletes: true (--allow-deletes)');
    expect(stopped.error?.message).toContain('nothing was deleted');
    expect(await r.newStore.count()).toBe(160);
    // Still refused on a second try: the share is counted again before any delete.
    expect((await r.migration.backfill()).status).toBe('stopped');
    expect(await r.newStore.count()).toBe(160);
    expect(await r.migration.backfill({ allowDeletes: true })).toMatchObject({ status: 'complete', deleted: 60 });
    expect(await keys(r.newStore)).toEqual(await keys(r.oldStore));
  });

  it('a prune within maxDeleteShare goes on by itself', async () => {
    const r = await rig();
    await fill(r.oldStore, 100);
    await fill(r.newStore, 3, 100);
    await r.goTo('dual-write');
    expect(await r.migration.backfill({ maxDeleteShare: 0.05 })).toMatchObject({ status: 'complete', deleted: 3 });
  });

  it('regression: a backfill whose every row dead-lettered reported complete; now complete-with-dead-letters, and the gate blocks until they are accepted', async () => {
    const r = await rig();
    await fill(r.oldStore, 30);
    await r.goTo('dual-write');
    const result = await r.migration.backfill({
      transform: () => {
        throw new Error('broken');
      },
    });
    expect(result).toMatchObject({
      status: 'complete-with-dead-letters',
      rowsRead: 30,
      inserted: 0,
      deadLetters: 30,
      deadLettersPending: 30,
    });
    const gate = (await r.migration.gates('shadow-read')).find((g) => g.gate === 'backfill');
    expect(gate).toMatchObject({ ok: false });
    expect(gate?.detail).toContain('30 dead letter(s)');
    await expect(r.migration.advance({ reason: 'test', gated: true })).rejects.toMatchObject({ code: 'BLOCKED' });
    // Accepting needs force and a reason, and writes nothing otherwise.
    await expect(r.migration.acceptDeadLetters({ reason: 'known bad rows', force: false })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await r.control.deadLetterCount('items')).toBe(30);
    expect(await r.migration.acceptDeadLetters({ reason: 'known bad rows', force: true, actor: 'ops' })).toBe(30);
    const accepted = (await r.control.auditLog('items')).find((e) => e.action === 'dead-letter-accept');
    expect(accepted).toMatchObject({ actor: 'ops', forced: true });
    expect(accepted?.reason).toContain('known bad rows');
    expect((await r.migration.gates('shadow-read')).find((g) => g.gate === 'backfill')).toMatchObject({ ok: true });
  });

  it('regression: every throttled or paused sleep left an abort listener on the signal', async () => {
    const r = await rig();
    await fill(r.oldStore, 200);
    await r.goTo('dual-write');
    const abort = new AbortController();
    const result = await r.migration.backfill({
      chunkSize: 10,
      targetChunkMs: 0,
      maxRowsPerSecond: 100_000,
      signal: abort.signal,
    });
    expect(result.status).toBe('complete');
    expect(result.chunks).toBeGreaterThanOrEqual(20);
    expect(getEventListeners(abort.signal, 'abort')).toHaveLength(0);
  });

  it('a backfill run under its own name counts for the gate', async () => {
    const r = await rig();
    await fill(r.oldStore, 10);
    await r.goTo('dual-write');
    expect((await r.migration.backfill({ name: 'nightly' })).status).toBe('complete');
    expect((await r.migration.gates('shadow-read')).find((g) => g.gate === 'backfill')).toMatchObject({
      ok: true,
      detail: 'backfill complete (run nightly), no dead letters',
    });
  });

  it('regression: after a rollback to old-only the backfill stayed complete: it read 0 rows and the gate passed', async () => {
    const r = await rig();
    await fill(r.oldStore, 40);
    await r.goTo('dual-write');
    expect((await r.migration.backfill()).rowsRead).toBe(40);
    await r.migration.rollback({ reason: 'test: back to old-only', actor: 'ops' });
    expect((await r.control.auditLog('items')).find((e) => e.action === 'facts-reset')).toMatchObject({ actor: 'ops' });
    await r.oldStore.put(item(7, 2, 'written while new got nothing'));
    await r.goTo('dual-write');
    expect((await r.migration.gates('shadow-read')).find((g) => g.gate === 'backfill')).toMatchObject({
      ok: false,
      detail: 'no backfill yet: run `midair backfill`',
    });
    expect(await r.migration.backfill()).toMatchObject({ status: 'complete', rowsRead: 40 });
    expect(await r.newStore.get(7)).toEqual(item(7, 2, 'written while new got nothing'));
  });

  it('facts recorded before the last entry into old-only are ignored even when nobody reset them', async () => {
    const r = await rig();
    await fill(r.oldStore, 40);
    await r.goTo('dual-write');
    await r.migration.backfill();
    await r.goTo('shadow-read');
    // Back to old-only behind the rollback's back (an auto-halt chain, an older tool): no facts-reset.
    for (;;) {
      const s = await r.control.getState('items');
      if (!s || s.phase === 'old-only') break;
      await r.control.compareAndSet(
        'items',
        s.version,
        { ...s, phase: s.phase === 'shadow-read' ? 'dual-write' : 'old-only' },
        { actor: 'halt', action: 'halt', reason: 'test', forced: false },
      );
    }
    await r.control.compareAndSet(
      'items',
      (await r.control.getState('items'))!.version,
      { ...(await r.control.getState('items'))!, phase: 'dual-write' },
      { actor: 'ops', action: 'advance', reason: 'test', forced: false },
    );
    expect((await r.migration.facts()).backfill).toMatchObject({ complete: false, started: false });
    expect(await r.migration.backfill()).toMatchObject({ status: 'complete', rowsRead: 40 });
  });

  it('a rollback from complete is refused and changes nothing', async () => {
    const r = await rig();
    await r.goTo('complete');
    const before = await r.control.getState('items');
    const audit = (await r.control.auditLog('items')).length;
    const err = await r.migration.rollback({ reason: 'test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MidairError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((err as Error).message).toContain('no rollback from complete');
    await expect(r.migration.rollback({ reason: 'test', force: true })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await r.control.getState('items')).toEqual(before);
    expect(await r.control.auditLog('items')).toHaveLength(audit);
  });
});
