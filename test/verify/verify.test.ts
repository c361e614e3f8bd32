import { describe, expect, it } from 'vitest';
import { formatVerifyReport, keyId, verifyExitCode, type ControlStore } from '../../src/index.js';
import { item, rig, type Item } from '../migration/setup.js';

async function fill(
  store: { writeIfNewer(e: Item[]): Promise<unknown> },
  ids: readonly number[],
  v = 'same',
): Promise<void> {
  for (let i = 0; i < ids.length; i += 500)
    await store.writeIfNewer(ids.slice(i, i + 500).map((id) => item(id, 1, `${v} ${id}`)));
}

/** The control store as a process sees it that dies at one call: the first call of `method` whose second argument passes `when` throws. */
function dyingOnce(control: ControlStore, method: keyof ControlStore, when: (name: unknown) => boolean): ControlStore {
  let killed = false;
  return new Proxy(control, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (prop !== method) return fn;
      return (...args: unknown[]) => {
        if (!killed && when(args[1])) {
          killed = true;
          return Promise.reject(new Error('killed'));
        }
        return fn(...args);
      };
    },
  });
}

/** Keys with gaps: segments are spaced by row position, not key value. */
const gappy = (n: number): number[] => Array.from({ length: n }, (_, i) => (i < n / 2 ? i * 3 : 1_000_000 + i * 7));

describe('verify on memory stores', () => {
  it('reports equal stores as equal, hashing every entity once', async () => {
    const r = await rig();
    const ids = gappy(5000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    const report = await r.migration.verify({ segmentRows: 1000, targetSegmentMs: 0 });
    expect(report).toMatchObject({
      mode: 'full',
      status: 'equal',
      matched: 5000,
      missing: { total: 0 },
      extra: { total: 0 },
      different: { total: 0 },
    });
    expect(report.old).toMatchObject({ count: 5000, hashing: 'js' });
    // Five segments of 1000, and the open one after old's last key (where only new could hold keys).
    expect(report.segments).toMatchObject({ hashed: 6, differing: 0, rowCompared: 0 });
    expect(verifyExitCode(report)).toBe(0);
  });

  it('finds exactly the missing, extra and different keys with the differing fields, through bisection', async () => {
    const r = await rig();
    const ids = gappy(20_000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    const [a, b, c] = [ids[17] as number, ids[9000] as number, ids[15_555] as number];
    await r.newStore.delete(a);
    await r.newStore.put(item(2_000_000, 1, 'only new'));
    await r.newStore.put({ ...item(b, 1), v: 'changed' });
    await r.oldStore.delete(c); // deleted in old, still in new
    const report = await r.migration.verify({
      segmentRows: 4000,
      targetSegmentMs: 0,
      leafRows: 50,
      bisectionFactor: 4,
      recheckDelayMs: 1,
    });
    expect(report.status).toBe('different');
    expect(report.missing).toEqual({ total: 1, keys: [keyId(a)] });
    expect(report.extra.keys.slice().sort()).toEqual([keyId(2_000_000), keyId(c)].sort());
    expect(report.different).toEqual({ total: 1, keys: [{ keyId: keyId(b), fields: ['v'] }] });
    expect(report.matched).toBe(20_000 - 3);
    // Only the few leaves around the differences were read row by row.
    expect(report.segments.rowCompared).toBeLessThanOrEqual(8);
    expect(verifyExitCode(report)).toBe(1);
    const text = formatVerifyReport(report);
    expect(text).toContain('DIFFERENT');
    expect(text).toContain(`different 1: ${b} (v)`);
    expect(text).not.toContain('changed'.repeat(2)); // never a row value…
    expect(text).not.toContain('only new'); // …of any row
  });

  it('reports rows written while it ran as changed during verification, apart from real differences', async () => {
    const r = await rig();
    await fill(r.oldStore, [1, 2, 3, 4]);
    await fill(r.newStore, [1, 2, 3, 4]);
    await r.oldStore.put(item(2, 2, 'in flight'));
    await r.newStore.put(item(3, 2, 'really different'));
    const late = setTimeout(() => void r.newStore.put(item(2, 2, 'in flight')), 30); // the second write lands late
    const report = await r.migration.verify({ recheckDelayMs: 100 });
    clearTimeout(late);
    expect(report.changedDuringRun.keys).toEqual([keyId(2)]);
    expect(report.different.keys).toEqual([{ keyId: keyId(3), fields: ['v', 'version'] }]);
    expect(report.status).toBe('different');
  });

  it('skips rows younger than minAgeMs when the version is a timestamp', async () => {
    const { memoryStore, memoryControlStore, defineMigration } = await import('../../src/index.js');
    interface Doc {
      id: number;
      body: string;
      at: Date;
    }
    const old = memoryStore<number, Doc>({ key: 'id', version: 'at' });
    const neu = memoryStore<number, Doc>({ key: 'id', version: 'at' });
    const long = new Date(Date.now() - 3_600_000);
    await old.put({ id: 1, body: 'a', at: long });
    await neu.put({ id: 1, body: 'b', at: long });
    await old.put({ id: 2, body: 'fresh', at: new Date() });
    const m = defineMigration({ name: 'docs', old, new: neu, control: memoryControlStore() });
    const report = await m.verify({ minAgeMs: 60_000, rechecks: 0 });
    expect(report.skippedYoung).toBe(1);
    expect(report.different.keys).toEqual([{ keyId: keyId(1), fields: ['body'] }]);
    expect(report.missing.total).toBe(0);
    await m.close();
  });

  it('resumes a killed run from its checkpoint and reaches the same report, counting nothing twice', async () => {
    const r = await rig();
    const ids = gappy(6000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    await r.newStore.delete(ids[5000] as number);
    const kill = new AbortController();
    let segments = 0;
    const options = { segmentRows: 500, targetSegmentMs: 0, recheckDelayMs: 1 };
    const first = await r.migration.verify({
      ...options,
      signal: kill.signal,
      onProgress: () => void (++segments === 4 && kill.abort()),
    });
    expect(first.status).toBe('aborted');
    const second = await r.migration.verify(options);
    expect(second).toMatchObject({
      status: 'different',
      resumed: true,
      matched: 5999,
      missing: { total: 1, keys: [keyId(ids[5000] as number)] },
    });
    const third = await r.migration.verify(options); // a finished run is not resumed: a new one starts
    expect(third).toMatchObject({ resumed: false, matched: 5999 });
  });

  it('shares a run between workers over leased ranges', async () => {
    const r = await rig();
    const ids = gappy(8000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    await r.newStore.put({ ...item(ids[100] as number, 1), v: 'x' });
    await r.newStore.put({ ...item(ids[7000] as number, 1), v: 'y' });
    const report = await r.migration.verify({
      workers: 3,
      ranges: 9,
      segmentRows: 400,
      targetSegmentMs: 0,
      recheckDelayMs: 1,
    });
    expect(report).toMatchObject({ matched: 7998, different: { total: 2 } });
    expect((await r.control.ranges('items', 'verify')).filter((x) => x.complete)).toHaveLength(9);
  });

  it('count and sample modes', async () => {
    const r = await rig();
    await fill(r.oldStore, gappy(3000));
    await fill(r.newStore, gappy(3000));
    expect(await r.migration.verify({ mode: 'count' })).toMatchObject({
      status: 'equal',
      old: { count: 3000 },
      new: { count: 3000 },
    });
    const sample = await r.migration.verify({ mode: 'sample', sampleSize: 200 });
    expect(sample.status).toBe('equal');
    expect(sample.sample?.keys).toBeGreaterThanOrEqual(200);
    expect(sample.sample?.upper95).toBeLessThan(0.03);
    await r.newStore.delete(gappy(3000)[5] as number);
    expect(await r.migration.verify({ mode: 'count' })).toMatchObject({ status: 'different', new: { count: 2999 } });
  });

  it('repairs the differing keys from the authoritative store, and a second verification is clean', async () => {
    const r = await rig();
    const ids = gappy(3000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    await r.newStore.delete(ids[1] as number);
    await r.newStore.put(item(5_000_000, 1, 'stray'));
    await r.newStore.put({ ...item(ids[2000] as number, 1), v: 'bad' });
    await r.goTo('dual-write');
    const report = await r.migration.verify({ repair: true, recheckDelayMs: 1 });
    expect(report.repair).toMatchObject({
      direction: 'old-to-new',
      keys: 3,
      repaired: 3,
      stillDifferent: { total: 0 },
    });
    expect(report.status).toBe('equal');
    expect(await r.newStore.getTombstone(5_000_000)).toBeDefined(); // removed from new, leaving a tombstone
    expect(await r.migration.verify({ recheckDelayMs: 1 })).toMatchObject({ status: 'equal', matched: 3000 });
  });

  it('killed at random segments again and again, resumed each time, reaches the report of an uninterrupted run', async () => {
    const r = await rig();
    const ids = gappy(4000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    for (const i of [3, 1500, 3999]) await r.newStore.put({ ...item(ids[i] as number, 1), v: 'off' });
    await r.newStore.delete(ids[2500] as number);
    const options = { segmentRows: 200, targetSegmentMs: 0, leafRows: 20, recheckDelayMs: 1, name: 'verify-killed' };
    const clean = await r.migration.verify({ ...options, name: 'verify-clean' });
    let runs = 0;
    let report;
    do {
      runs++;
      const kill = new AbortController();
      const at = 1 + Math.floor(Math.random() * 6);
      let seen = 0;
      report = await r.migration.verify({
        ...options,
        signal: kill.signal,
        onProgress: () => void (++seen === at && runs < 8 && kill.abort()),
      });
    } while (report.status === 'aborted');
    expect(runs).toBeGreaterThan(1);
    const pick = (x: typeof clean) => ({
      matched: x.matched,
      missing: x.missing,
      extra: x.extra,
      different: x.different,
      skippedYoung: x.skippedYoung,
    });
    expect(pick(report)).toEqual(pick(clean));
    expect(clean).toMatchObject({ matched: 3996, different: { total: 3 }, missing: { total: 1 } });
  });

  it('pauses and resumes through the control store, like the backfill', async () => {
    const r = await rig();
    await fill(r.oldStore, gappy(2000));
    await fill(r.newStore, gappy(2000));
    await r.migration.controlBackfill({ paused: true }, 'verify');
    let segments = 0;
    const running = r.migration.verify({ segmentRows: 100, targetSegmentMs: 0, onProgress: () => void segments++ });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(segments).toBe(0);
    await r.migration.controlBackfill({ paused: false }, 'verify');
    expect(await running).toMatchObject({ status: 'equal', matched: 2000 });
    expect(segments).toBeGreaterThan(5);
  });

  it('regression: a run killed between recording its progress and saving its checkpoint loses no finding', async () => {
    const r = await rig();
    const ids = gappy(3000);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    await r.newStore.put({ ...item(ids[5] as number, 1), v: 'off' });
    // The process dies once, right after its lease recorded the first segment's progress, before the checkpoint.
    const dying = dyingOnce(
      r.control,
      'saveCheckpoint',
      (name) => typeof name === 'string' && name.includes(':range:'),
    );
    const { runVerify } = await import('../../src/verify/verify.js');
    const options = { segmentRows: 1000, targetSegmentMs: 0, leaseMs: 50, recheckDelayMs: 1 };
    expect((await runVerify('items', r.oldStore, r.newStore, dying, options)).report.status).toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 80)); // the dead run's lease runs out
    const { report } = await runVerify('items', r.oldStore, r.newStore, dying, options);
    expect(report).toMatchObject({
      status: 'different',
      resumed: true,
      matched: 2999,
      different: { total: 1, keys: [{ keyId: keyId(ids[5] as number) }] },
    });
  });

  it('regression: a run killed before completing its range counts nothing twice', async () => {
    const r = await rig();
    const ids = gappy(3500);
    await fill(r.oldStore, ids);
    await fill(r.newStore, ids);
    await r.newStore.delete(ids[3400] as number);
    // The process dies once, after the range's last checkpoint, before the lease is completed.
    const dying = dyingOnce(r.control, 'completeRange', () => true);
    const { runVerify } = await import('../../src/verify/verify.js');
    const options = { segmentRows: 1000, targetSegmentMs: 0, leaseMs: 50, recheckDelayMs: 1 };
    expect((await runVerify('items', r.oldStore, r.newStore, dying, options)).report.status).toBe('failed');
    await new Promise((resolve) => setTimeout(resolve, 80));
    const { report } = await runVerify('items', r.oldStore, r.newStore, dying, options);
    expect(report).toMatchObject({ status: 'different', resumed: true, matched: 3499, missing: { total: 1 } });
  });

  /** The control store as a process sees it that stalls once: its first `method` call on a verification range waits until another worker has completed the range. */
  function stallingOnce(
    control: ControlStore,
    method: 'saveCheckpoint' | 'renewRange',
  ): { control: ControlStore; stalled: () => boolean } {
    let stalled = false;
    const proxy = new Proxy(control, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => Promise<unknown>).bind(target);
        if (prop !== method) return fn;
        return async (...args: unknown[]) => {
          const onRange = method === 'renewRange' ? args[1] === 'verify' : String(args[1]).includes(':range:');
          if (!stalled && onRange) {
            stalled = true;
            while (!(await target.ranges('items', 'verify')).every((x) => x.complete))
              await new Promise((resolve) => setTimeout(resolve, 5));
          }
          return fn(...args);
        };
      },
    });
    return { control: proxy, stalled: () => stalled };
  }

  for (const [method, when] of [
    ['saveCheckpoint', 'after its segment'],
    ['renewRange', 'after its checkpoint'],
  ] as const)
    it(`regression: a verify worker that stalled ${when} and lost its range overwrote the new holder's findings, or its rows went uncounted`, async () => {
      const r = await rig();
      const ids = gappy(400);
      await fill(r.oldStore, ids);
      await fill(r.newStore, ids);
      await r.newStore.put({ ...item(ids[390] as number, 1), v: 'late' }); // in the range's last segment
      const stalling = stallingOnce(r.control, method);
      const { runVerify } = await import('../../src/verify/verify.js');
      const { report } = await runVerify('items', r.oldStore, r.newStore, stalling.control, {
        workers: 2,
        ranges: 1,
        leaseMs: 50,
        segmentRows: 10,
        targetSegmentMs: 0,
        recheckDelayMs: 1,
      });
      expect(stalling.stalled()).toBe(true);
      expect(report).toMatchObject({
        status: 'different',
        matched: 399,
        different: { total: 1, keys: [{ keyId: keyId(ids[390] as number) }] },
      });
      // Every row counted once over the range's holders: the progress a bar and `status` read.
      expect((await r.control.ranges('items', 'verify')).reduce((n, x) => n + x.rows, 0)).toBe(400);
    });

  it('regression: ignoring a key field cannot hide values swapped between two keys', async () => {
    const r = await rig();
    await r.oldStore.put(item(1, 1, 'x'));
    await r.oldStore.put(item(2, 1, 'y'));
    await r.newStore.put(item(1, 1, 'y'));
    await r.newStore.put(item(2, 1, 'x'));
    const report = await r.migration.verify({ ignoreFields: ['id', 'version'], recheckDelayMs: 1 });
    expect(report.different.keys.map((k) => k.keyId)).toEqual([keyId(1), keyId(2)]);
  });
});
