import { describe, expect, it } from 'vitest';
import {
  defineMigration,
  memoryControlStore,
  memoryStore,
  type ControlStore,
  type Migration,
  type Store,
} from '../../src/index.js';
import { RowBudget } from '../../src/jobs/row-budget.js';
import { simulate } from '../support/sim-clock.js';
import { rng } from '../support/rng.js';

interface Item {
  id: number;
  version: number;
  v: string;
}

/** Rows started at each instant (ms), in time order. */
type Log = { at: number; rows: number }[];

/** The most rows started in a window of `T` ms beyond what `rate` allows in it, over every window the log spans. */
function worstExcess(log: Log, rowsPerSecond: number): number {
  const sorted = [...log].sort((a, b) => a.at - b.at);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    let rows = 0;
    for (let j = i; j < sorted.length; j++) {
      rows += (sorted[j] as Log[number]).rows;
      const span = (sorted[j] as Log[number]).at - (sorted[i] as Log[number]).at;
      worst = Math.max(worst, rows - (rowsPerSecond * span) / 1000);
    }
  }
  return worst;
}

/** `store` with every syncMany (a backfill chunk's write) logged with its rows and the (simulated) time it started. */
function logged(store: Store<number, Item>, log: Log): Store<number, Item> {
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === 'syncMany')
        return async (...args: Parameters<Store<number, Item>['syncMany']>) => {
          log.push({ at: Date.now(), rows: args[0].length });
          return target.syncMany(...args);
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function seeded(n: number): Promise<Store<number, Item>> {
  const old = memoryStore<number, Item>({ name: 'old', key: 'id', version: 'version' });
  await old.writeIfNewer(Array.from({ length: n }, (_, i) => ({ id: i + 1, version: 1, v: `v${i + 1}` })));
  return old;
}

function instance(
  old: Store<number, Item>,
  neu: Store<number, Item>,
  control: ControlStore,
  id: string,
): Migration<number, Item> {
  return defineMigration<number, Item>({
    name: 'items',
    old,
    new: neu,
    control,
    instanceId: id,
    pollMs: 10,
    instanceExpiryMs: 5000,
    repair: { enabled: false },
  });
}

describe('adoption 9: honest output — one rows/s ceiling for every worker', () => {
  it('the budget never lets more than rate × T + burst rows start in any window, however many take from it', () => {
    let now = 0;
    const budget = new RowBudget(400, () => now);
    expect(budget.burst).toBe(100);
    const random = rng(9);
    const log: Log = [];
    // Four workers, in time order: each takes a chunk, waits what the budget says, reads it (a fifth of the
    // chunks are a range's short last one), gives back what it did not read, and takes again 0–60 ms later.
    type Event = { at: number; worker: number; taken?: { size: number; giveBack(unread: number): void } };
    const events: Event[] = [0, 1, 2, 3].map((worker) => ({ at: 0, worker }));
    for (let step = 0; step < 800; step++) {
      events.sort((x, y) => x.at - y.at);
      const e = events.shift() as Event;
      now = e.at;
      if (!e.taken) {
        const size = budget.chunk(1000);
        const taken = budget.take(size);
        events.push({ at: now + taken.waitMs, worker: e.worker, taken: { size, giveBack: (n) => taken.giveBack(n) } });
        continue;
      }
      const read = random() < 0.2 ? Math.floor(random() * e.taken.size) : e.taken.size;
      log.push({ at: now, rows: read });
      e.taken.giveBack(e.taken.size - read);
      events.push({ at: now + Math.floor(random() * 60), worker: e.worker });
    }
    // Waits are whole milliseconds, rounded up: a start up to 1 ms late may sit that much closer to the next.
    expect(worstExcess(log, 400)).toBeLessThanOrEqual(budget.burst + 400 / 1000);
    const rows = log.reduce((n, e) => n + e.rows, 0);
    const span = Math.max(...log.map((e) => e.at));
    expect(rows).toBeLessThanOrEqual((400 * span) / 1000 + budget.burst);
  });

  it('a new ceiling applies from the next chunk; without one nothing waits', () => {
    let now = 0;
    const budget = new RowBudget(undefined, () => now);
    expect(budget.take(1_000_000).waitMs).toBe(0);
    expect(budget.chunk(5000)).toBe(5000);
    budget.rowsPerSecond = 1000; // set while running (midair backfill rate 1000)
    expect(budget.chunk(5000)).toBe(250);
    expect(budget.take(250).waitMs).toBe(0); // the burst is there at once
    expect(budget.take(250).waitMs).toBe(250); // then a quarter second per 250 rows
    now = 250;
    budget.rowsPerSecond = 100;
    expect(budget.take(25).waitMs).toBe(250); // the debt left at the old rate, then 25 rows at the new one
  });

  it('rows not read go back only while no other chunk was taken since', () => {
    const now = 0;
    const budget = new RowBudget(400, () => now);
    const first = budget.take(100);
    first.giveBack(80); // the latest take: as if it had taken 20
    const second = budget.take(100);
    expect(second.waitMs).toBe(50); // 20 rows over the burst
    const third = budget.take(100);
    second.giveBack(100); // too late: the third already waits behind all of the second's rows
    expect(third.waitMs).toBe(300);
    expect(budget.take(100).waitMs).toBe(550);
  });

  it('regression: 4 workers at 400 rows/s copy at 400 rows/s, not each at its own (5 328 rows in 2 s)', async () => {
    const rows = 2000;
    const outcome = await simulate(11, async () => {
      const log: Log = [];
      const control = memoryControlStore();
      const m = instance(
        await seeded(rows),
        logged(memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' }), log),
        control,
        'solo',
      );
      await m.start();
      await m.advance({ reason: 'test: dual writes' });
      const started = Date.now();
      const result = await m.backfill({ workers: 4, ranges: 16, maxRowsPerSecond: 400 });
      const tookMs = Date.now() - started;
      await m.close();
      return { result, log, tookMs };
    });
    expect(outcome.settled).toBe(true);
    if (!outcome.settled) return;
    const { result, log, tookMs } = outcome.value;
    expect(result).toMatchObject({ status: 'complete', rowsRead: rows, inserted: rows });
    expect(log.reduce((n, e) => n + e.rows, 0)).toBe(rows);
    expect(worstExcess(log, 400)).toBeLessThanOrEqual(100 + 0.4); // the burst (a quarter second), and 1 ms of rounding
    expect(tookMs).toBeGreaterThanOrEqual(((rows - 100) * 1000) / 400);
  });

  it('two processes sharing a run take half the ceiling each once they see each other (within a second)', async () => {
    const rows = 3000;
    const outcome = await simulate(12, async () => {
      const log: Log = [];
      const control = memoryControlStore();
      const old = await seeded(rows);
      const neu = logged(memoryStore<number, Item>({ name: 'new', key: 'id', version: 'version' }), log);
      const a = instance(old, neu, control, 'a');
      const b = instance(old, neu, control, 'b');
      await a.start();
      await b.start();
      await a.advance({ reason: 'test: dual writes' });
      await b.awaitFleet();
      const options = { workers: 2, ranges: 16, maxRowsPerSecond: 400 };
      const [ra, rb] = await Promise.all([
        a.backfill({ ...options, owner: 'process-a' }),
        b.backfill({ ...options, owner: 'process-b' }),
      ]);
      await a.close();
      await b.close();
      return { ra, rb, log };
    });
    expect(outcome.settled).toBe(true);
    if (!outcome.settled) return;
    const { ra, rb, log } = outcome.value;
    expect(ra.status).toBe('complete');
    expect(rb.status).toBe('complete');
    expect(ra.inserted + rb.inserted).toBe(rows);
    expect(ra.rowsRead).toBeGreaterThan(0);
    expect(rb.rowsRead).toBeGreaterThan(0);
    // Each one's burst, and until they have counted each other both take the whole ceiling for at most a second.
    expect(worstExcess(log, 400)).toBeLessThanOrEqual(2 * 100 + 400);
  });
});
