import { describe, expect, it } from 'vitest';
import { MidairError, type InstanceInfo, type Store } from '../../src/index.js';
import { Pacer, PROBE_EVERY_MS, type PacerOptions } from '../../src/jobs/pacer.js';
import type { PaceReason } from '../../src/jobs/pace.js';
import {
  MIN_SERVED_SAMPLES,
  SERVED_BASELINE_READS,
  SERVED_IDLE_REBASE_MS,
  SERVED_REFRESH_MS,
  servedLevels,
  servedRatio,
} from '../../src/jobs/served-latency.js';
import { Throttle } from '../../src/jobs/throttle.js';

/** A clock that moves only when the run sleeps or a store call takes time. */
function clock(): { now: () => number; sleep: (ms: number) => Promise<void>; advance: (ms: number) => void } {
  let t = 1_000_000;
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A store whose probe calls take what the test says (only the members the pace uses). */
function store(
  c: ReturnType<typeof clock>,
  cost: { commit?: () => number; read: () => number },
  calls: string[],
  name: string,
): Store<number, object> {
  const commit = cost.commit;
  return {
    name,
    get: async () => {
      calls.push(`${name}.get`);
      c.advance(cost.read());
      return Promise.resolve(undefined);
    },
    ...(commit
      ? {
          commitProbe: {
            commit: async () => {
              calls.push(`${name}.commit`);
              c.advance(commit());
              return Promise.resolve();
            },
          },
        }
      : {}),
  } as unknown as Store<number, object>;
}

/** Fleet reports as instances() returns them, changeable as the test goes. */
function fleet(c: ReturnType<typeof clock>): {
  instances: () => Promise<InstanceInfo[]>;
  report: (id: string, p99Ms: number | undefined, count?: number) => void;
} {
  const reports = new Map<string, { p99Ms: number; count: number } | undefined>();
  return {
    instances: async () =>
      Promise.resolve(
        [...reports].map(([instanceId, served]) => ({
          migration: 'm',
          instanceId,
          host: 'h',
          phaseVersion: 2,
          inFlightWrites: 0,
          lastSeen: new Date(c.now()),
          startedAt: new Date(0),
          servedWrites: served,
        })),
      ),
    report: (id, p99Ms, count = 500) => reports.set(id, p99Ms === undefined ? undefined : { p99Ms, count }),
  };
}

function pacer(
  c: ReturnType<typeof clock>,
  stores: { source: Store<number, object>; target: Store<number, object> },
  f: ReturnType<typeof fleet>,
  options: PacerOptions,
): { pacer: Pacer<number, object>; waits: PaceReason[] } {
  const waits: PaceReason[] = [];
  return {
    pacer: new Pacer({
      ...stores,
      fleet: f,
      migration: 'm',
      options: { ...options, onWait: (r) => waits.push(r) },
      now: c.now,
      sleep: c.sleep,
      date: () => new Date(c.now()),
    }),
    waits,
  };
}

describe('served latency from the fleet reports', () => {
  it('counts reports with enough writes that are fresh; compares each instance with itself, a newcomer with the median', () => {
    const now = 10_000;
    const at = (id: string, p99Ms: number, count: number, age = 0): InstanceInfo => ({
      migration: 'm',
      instanceId: id,
      host: 'h',
      phaseVersion: 1,
      inFlightWrites: 0,
      lastSeen: new Date(now - age),
      startedAt: new Date(0),
      servedWrites: { p99Ms, count },
    });
    const levels = servedLevels(
      [
        at('a', 2, 500),
        at('b', 4, MIN_SERVED_SAMPLES),
        at('few', 9, MIN_SERVED_SAMPLES - 1),
        at('stale', 9, 500, 60_000),
      ],
      now,
    );
    expect(levels).toEqual(
      new Map([
        ['a', 2],
        ['b', 4],
      ]),
    );
    const baseline = new Map([
      ['a', 2],
      ['b', 4],
      ['c', 3],
    ]);
    expect(servedRatio(baseline, new Map([['a', 2.2]]))).toBeCloseTo(1.1);
    expect(
      servedRatio(
        baseline,
        new Map([
          ['a', 2],
          ['b', 6],
        ]),
      ),
    ).toBeCloseTo(1.5); // the worst instance
    expect(servedRatio(baseline, new Map([['new', 6]]))).toBeCloseTo(2); // against the median level, 3
    expect(servedRatio(new Map(), new Map([['a', 50]]))).toBeUndefined(); // nothing to compare with
    expect(servedRatio(baseline, new Map())).toBeUndefined();
  });
});

describe('the pace of a run, on a clock that moves only when it waits', () => {
  it('probes both stores with a commit where they have one, a point read where not, and times the slower', async () => {
    const c = clock();
    const calls: string[] = [];
    const source = store(c, { commit: () => 3, read: () => 0.1 }, calls, 'old');
    const target = store(c, { read: () => 0.2 }, calls, 'new');
    const f = fleet(c);
    const { pacer: p, waits } = pacer(c, { source, target }, f, { latencyBudgetMs: 100 });
    await p.start();
    expect(await p.beforeChunk(new Throttle(), 7)).toBe(true);
    expect(calls).toEqual(['old.commit', 'new.get']);
    expect(waits).toEqual([]);
    // Probed again only PROBE_EVERY_MS later: chunks in between go on the last reading.
    calls.length = 0;
    await p.beforeChunk(new Throttle(), 8);
    expect(calls).toEqual([]);
    c.advance(PROBE_EVERY_MS);
    await p.beforeChunk(new Throttle(), 8);
    expect(calls).toEqual(['old.commit', 'new.get']);
  });

  it('a store whose probe table is missing is read-probed for the rest of the run; other probe failures fail it', async () => {
    const c = clock();
    const calls: string[] = [];
    const missing = {
      ...store(c, { read: () => 0 }, calls, 'old'),
      commitProbe: {
        commit: async () => {
          calls.push('old.commit');
          return Promise.reject(new MidairError('SCHEMA_MISMATCH', 'no probe table'));
        },
      },
    } as unknown as Store<number, object>;
    const target = store(c, { commit: () => 1, read: () => 0 }, calls, 'new');
    const { pacer: p } = pacer(c, { source: missing, target }, fleet(c), { latencyBudgetMs: 100 });
    await p.start();
    await p.beforeChunk(new Throttle(), 1);
    c.advance(PROBE_EVERY_MS);
    await p.beforeChunk(new Throttle(), 1);
    expect(calls).toEqual(['old.commit', 'new.commit', 'old.get', 'old.get', 'new.commit']);
    const down = {
      ...store(c, { read: () => 0 }, calls, 'old'),
      commitProbe: { commit: async () => Promise.reject(new MidairError('CONNECTION', 'down')) },
    } as unknown as Store<number, object>;
    const { pacer: q } = pacer(c, { source: down, target }, fleet(c), { latencyBudgetMs: 100 });
    await q.start();
    await expect(q.beforeChunk(new Throttle(), 1)).rejects.toMatchObject({ code: 'CONNECTION' });
  });

  it('waits while its probes are past the budget, shrinking the chunks, then eases back in; it adds up each wait', async () => {
    const c = clock();
    const costs = (list: number[]): (() => number) => {
      let i = 0;
      return () => list[Math.min(i++, list.length - 1)] as number;
    };
    const source = store(c, { commit: costs([30, 30, 1, 1, 30, 1]), read: () => 0 }, [], 'old');
    const target = store(c, { commit: () => 1, read: () => 0 }, [], 'new');
    const { pacer: p, waits } = pacer(c, { source, target }, fleet(c), { latencyBudgetMs: 10 });
    await p.start();
    const throttle = new Throttle({ chunkSize: 1000 });
    expect(await p.beforeChunk(throttle, undefined)).toBe(true);
    // A reading is the median of the last three probes: 30, 30, then median(30, 30, 1) = 30 are past the budget (waits
    // of 100, 200 and 400 ms, each halving the chunk and the duty cycle); median(30, 1, 1) = 1 is a tenth of it.
    expect(waits).toEqual(['latency', 'latency', 'latency']);
    expect(p.waited).toEqual({ latency: 700 });
    expect(p.duty).toBeCloseTo(0.225);
    expect(throttle.chunkSize).toBe(Math.floor(125 * 0.225));
    // It goes on at a fifth of its time or so: a chunk of 20 ms is followed by a pause, counted under the same reason.
    await p.afterChunk(20);
    expect(p.waited.latency).toBe(Math.round(700 + 20 * (1 / 0.225 - 1)));
    // One stray slow probe, median(1, 1, 30) = 1, neither stops nor eases it.
    c.advance(PROBE_EVERY_MS);
    expect(await p.beforeChunk(throttle, undefined)).toBe(true);
    expect(waits).toHaveLength(3);
    expect(p.duty).toBeCloseTo(0.325);
  });

  it('backs off while the fleet serves writes slower than before the run began, and resumes when they recover', async () => {
    const c = clock();
    const s = store(c, { commit: () => 0.5, read: () => 0 }, [], 'old');
    const f = fleet(c);
    // Each read of the fleet sees the next report: its level before the run (the median of the run's first
    // SERVED_BASELINE_READS reads, a quarter second apart), twice 1.5 × that (past 1.2 ×), then 1.05 ×.
    const before = [2, 1.5, 2.5, 2, 2, 1.8, 2.4, 2.2];
    expect(before).toHaveLength(SERVED_BASELINE_READS);
    const levels = [...before, 3, 3, 2.1];
    let reads = 0;
    const reporting = {
      instances: async () => {
        f.report('a', levels[Math.min(reads++, levels.length - 1)]);
        f.report('quiet', 50, MIN_SERVED_SAMPLES - 1); // too few writes to count
        return f.instances();
      },
      report: f.report,
    };
    const { pacer: p, waits } = pacer(c, { source: s, target: s }, reporting, {});
    await p.start();
    c.advance(SERVED_REFRESH_MS);
    const throttle = new Throttle({ chunkSize: 1000 });
    expect(await p.beforeChunk(throttle, undefined)).toBe(true);
    expect(reads).toBe(SERVED_BASELINE_READS + 3);
    expect(waits).toEqual(['served-latency', 'served-latency']);
    // Backed off 100 then 200 ms; its chunks halved at each, and its duty cycle regains a tenth at the good reading.
    expect(p.waited).toEqual({ 'served-latency': 300 });
    expect(p.duty).toBeCloseTo(0.35);
    expect(throttle.chunkSize).toBe(Math.floor(250 * 0.35));
  });

  it('a fleet slowed by something else holds the run back a second and a half, then becomes its baseline', async () => {
    const c = clock();
    const s = store(c, { read: () => 0 }, [], 'old');
    const f = fleet(c);
    f.report('a', 2);
    const { pacer: p, waits } = pacer(c, { source: s, target: s }, f, {});
    await p.start();
    f.report('a', 3); // and it stays there, whatever the run does
    c.advance(SERVED_REFRESH_MS);
    expect(await p.beforeChunk(new Throttle(), undefined)).toBe(true);
    // Waits of 100, 200, 400 and 800 ms: after 1.5 s of copying nothing, 3 ms is what the fleet serves without the run.
    expect(waits).toEqual(['served-latency', 'served-latency', 'served-latency', 'served-latency']);
    expect(p.waited).toEqual({ 'served-latency': SERVED_IDLE_REBASE_MS });
    // Compared with its new level from now on: 3.3 ms is 1.1 ×, easing off but not waiting.
    f.report('a', 3.3);
    c.advance(SERVED_REFRESH_MS);
    expect(await p.beforeChunk(new Throttle(), undefined)).toBe(true);
    expect(waits).toHaveLength(4);
  });

  it('eases off before the bound: from halfway there it shortens its chunks and pauses after each, without waiting', async () => {
    const c = clock();
    const s = store(c, { read: () => 0 }, [], 'old');
    const f = fleet(c);
    f.report('a', 2);
    const { pacer: p, waits } = pacer(c, { source: s, target: s }, f, { servedLatencyFactor: 1.2 });
    await p.start();
    f.report('a', 2.15); // 1.075 ×: under halfway, full speed
    c.advance(SERVED_REFRESH_MS);
    const throttle = new Throttle({ chunkSize: 1000 });
    await p.beforeChunk(throttle, undefined);
    expect(p.duty).toBe(1);
    f.report('a', 2.3); // 1.15 ×: three quarters of the way to the bound
    c.advance(SERVED_REFRESH_MS);
    await p.beforeChunk(throttle, undefined);
    expect(waits).toEqual([]);
    expect(p.duty).toBeCloseTo(0.85);
    expect(throttle.chunkSize).toBe(850);
    await p.afterChunk(10);
    expect(p.waited['served-latency']).toBe(Math.round(10 * (1 / 0.85 - 1)));
  });

  it('instances that reported nothing when the run began leave the pace to the probe (and to nothing, without a budget)', async () => {
    const c = clock();
    const calls: string[] = [];
    const s = store(c, { commit: () => 1, read: () => 0 }, calls, 'old');
    const f = fleet(c);
    f.report('a', undefined);
    const { pacer: p, waits } = pacer(c, { source: s, target: s }, f, {});
    await p.start();
    f.report('a', 40);
    f.report('late', 40);
    c.advance(SERVED_REFRESH_MS);
    expect(await p.beforeChunk(new Throttle(), 1)).toBe(true);
    expect(waits).toEqual([]);
    expect(calls).toEqual([]); // no budget: nothing probed either
  });

  it('waits outside its windows (looking again every 30 s), then runs; refuses a served factor that is not above 1', async () => {
    const c = clock();
    const s = store(c, { read: () => 0 }, [], 'old');
    // Noon until the first wait is over, then 22:30: inside the window.
    const waits: PaceReason[] = [];
    const date = (): Date => new Date(waits.length === 0 ? '2026-11-23T12:00:00Z' : '2026-11-23T22:30:00Z');
    const p = new Pacer({
      source: s,
      target: s,
      fleet: fleet(c),
      migration: 'm',
      options: { windows: [{ from: '22:00', to: '06:00' }], onWait: (r) => waits.push(r) },
      now: c.now,
      sleep: c.sleep,
      date,
    });
    await p.start();
    expect(await p.beforeChunk(new Throttle(), undefined)).toBe(true);
    expect(waits).toEqual(['window']);
    expect(p.waited).toEqual({ window: 30_000 });
    expect(
      () => new Pacer({ source: s, target: s, fleet: fleet(c), migration: 'm', options: { servedLatencyFactor: 1 } }),
    ).toThrow(/servedLatencyFactor must be above 1/);
  });
});
