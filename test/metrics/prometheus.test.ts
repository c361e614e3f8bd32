import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defineMigration, memoryControlStore, memoryStore, MidairError, type ControlStore } from '../../src/index.js';
import { DURATION_BUCKETS, FIGURES, type FigureName } from '../../src/metrics/catalogue.js';
import { prometheusMetrics } from '../../src/prometheus/index.js';
import { item, rig, type Item } from '../migration/setup.js';
import { scriptedMigration, type Reading } from './scenario.js';
import { parseScrape, valueIn, type Series } from './scrape.js';

const byName = new Map<string, FigureName>(
  (Object.entries(FIGURES) as [FigureName, (typeof FIGURES)[FigureName]][]).map(([f, spec]) => [spec.prometheus, f]),
);

/** What a scrape of `registry` holds, read by figure. */
async function scrape(registry: Registry): Promise<Reading & { readonly all: Series[] }> {
  const all = parseScrape(await registry.metrics());
  const duration = FIGURES.storeCallDuration.prometheus;
  return {
    all,
    value: (figure, labels = {}) => valueIn(all, FIGURES[figure].prometheus, labels),
    durations: (labels) => {
      const count = valueIn(all, `${duration}_count`, labels);
      const sum = valueIn(all, `${duration}_sum`, labels);
      return count === undefined || sum === undefined ? undefined : { count, sum };
    },
    series: () =>
      all.flatMap((s) => {
        const figure = byName.get(s.name.replace(/_(bucket|sum|count)$/, ''));
        return figure ? [{ figure, labels: s.labels }] : [];
      }),
  };
}

const failure = (fn: () => unknown): MidairError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MidairError);
    return error as MidairError;
  }
  throw new Error('it did not throw');
};

/** A control store that counts its reads of the parked repairs' count (one per read of a migration's figures). */
function counting(control: ControlStore): { control: ControlStore; reads: () => number } {
  let reads = 0;
  return {
    reads: () => reads,
    control: new Proxy(control, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => unknown).bind(target);
        return prop === 'parkedCount'
          ? (...args: unknown[]) => {
              reads++;
              return fn(...args);
            }
          : fn;
      },
    }),
  };
}

function orders(metrics: ReturnType<typeof prometheusMetrics>, control = memoryControlStore()) {
  return defineMigration<number, Item>({
    name: 'orders',
    old: memoryStore<number, Item>({ key: 'id', version: 'version' }),
    new: memoryStore<number, Item>({ key: 'id', version: 'version' }),
    control,
    metrics,
    repair: { enabled: false },
  });
}

describe('Prometheus metrics', () => {
  it('a scrape after a scripted migration holds every figure with its value', async () => {
    const registry = new Registry();
    const r = await scriptedMigration(prometheusMetrics({ registry, controlCacheMs: 0 }), () => scrape(registry));
    const text = await registry.metrics();
    // Prometheus conventions: a counter is typed as one, the histogram has its buckets, no label holds a key.
    expect(text).toContain('# TYPE midair_store_calls_total counter');
    expect(text).toContain('# TYPE midair_store_call_duration_seconds histogram');
    expect(text).toContain('# TYPE midair_repair_queue_depth gauge');
    // Four puts on old: three in old-only, one in dual-write.
    expect(text).toMatch(
      /^midair_store_call_duration_seconds_bucket\{migration="items",side="old",op="put",le="\+Inf"\} 4$/m,
    );
    expect(text).toMatch(/^midair_store_call_duration_seconds_count\{migration="items",side="old",op="put"\} 4$/m);
    const buckets = (await scrape(registry)).all.filter(
      (s) => s.name === 'midair_store_call_duration_seconds_bucket' && s.labels.op === 'put' && s.labels.side === 'old',
    );
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((a, b) => a - b));
    expect(r.migration.state.phase).toBe('shadow-read');
  });

  it('a backfill stopped halfway shows how far it came, and that it no longer runs', async () => {
    const registry = new Registry();
    const r = await rig({ metrics: prometheusMetrics({ registry, controlCacheMs: 0 }), repair: { enabled: false } });
    await r.oldStore.writeIfNewer(Array.from({ length: 1000 }, (_, i) => item(i, 1)));
    await r.goTo('dual-write');
    const stop = new AbortController();
    const result = await r.migration.backfill({
      chunkSize: 100,
      maxChunkSize: 100,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.rowsDone >= 400) stop.abort();
      },
    });
    expect(result).toMatchObject({ status: 'aborted', rowsRead: 400 });
    const s = await scrape(registry);
    const run = { migration: 'items', run: 'backfill' };
    expect(s.value('backfillRows', run)).toBe(400);
    expect(s.value('backfillProgress', run)).toBe(0.4);
    expect(s.value('backfillRunning', run)).toBe(0);
    expect(s.value('backfillComplete', { migration: 'items' })).toBe(0);
    expect(s.value('gatePassing', { migration: 'items', to: 'shadow-read', gate: 'backfill' })).toBe(0);
  });

  it('every series carries its figure’s labels only, with values from fixed sets', async () => {
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry, controlCacheMs: 0 });
    const m = orders(metrics);
    await m.start();
    const repo = m.repository();
    for (let i = 0; i < 50; i++) await repo.put(item(i, 1));
    const s = await scrape(registry);
    for (const series of s.all) {
      const figure = byName.get(series.name.replace(/_(bucket|sum|count)$/, ''));
      expect(figure, series.name).toBeDefined();
      const allowed = [...FIGURES[figure as FigureName].labels, ...(series.name.endsWith('_bucket') ? ['le'] : [])];
      expect(Object.keys(series.labels).sort()).toEqual([...allowed].sort());
    }
    // Fifty keys written: one series per side, operation and result, not per key.
    expect(s.all.filter((x) => x.name === 'midair_store_calls_total')).toHaveLength(1);
    await m.close();
  });

  it('two migrations on one registry do not clash, and the global default registry is untouched', async () => {
    const before = register.getMetricsAsArray().length;
    const registry = new Registry();
    const metrics = prometheusMetrics({ registry, controlCacheMs: 0 });
    const a = orders(metrics);
    const b = defineMigration<number, Item>({
      name: 'invoices',
      old: memoryStore<number, Item>({ key: 'id', version: 'version' }),
      new: memoryStore<number, Item>({ key: 'id', version: 'version' }),
      control: memoryControlStore(),
      metrics,
      repair: { enabled: false },
    });
    await a.start();
    await b.start();
    await a.repository().put(item(1, 1));
    await b.repository().put(item(1, 1));
    await b.repository().put(item(2, 1));
    const s = await scrape(registry);
    const calls = (migration: string) =>
      valueIn(s.all, 'midair_store_calls_total', { migration, side: 'old', op: 'put', result: 'ok' });
    expect([calls('orders'), calls('invoices')]).toEqual([1, 2]);
    expect(valueIn(s.all, 'midair_phase', { migration: 'orders', phase: 'old-only' })).toBe(1);
    expect(valueIn(s.all, 'midair_phase', { migration: 'invoices', phase: 'old-only' })).toBe(1);
    // A closed migration's control store is no longer read; what it counted stays.
    await b.close();
    const after = await scrape(registry);
    expect(valueIn(after.all, 'midair_phase', { migration: 'invoices', phase: 'old-only' })).toBeUndefined();
    expect(valueIn(after.all, 'midair_store_calls_total', { migration: 'invoices', op: 'put' })).toBe(2);
    expect(valueIn(s.all, 'midair_instance_phase_version', { migration: 'invoices' })).toBe(b.state.version);
    expect(valueIn(after.all, 'midair_instance_phase_version', { migration: 'invoices' })).toBeUndefined();
    expect(valueIn(after.all, 'midair_instance_phase_version', { migration: 'orders' })).toBe(a.state.version);
    await a.close();
    expect(register.getMetricsAsArray()).toHaveLength(before);
    expect(await register.metrics()).not.toContain('midair_');
  });

  it('a process with only a control store exports its fleet-wide figures (a dashboard), and no counts of its own', async () => {
    const control = memoryControlStore();
    const app = orders(prometheusMetrics({ registry: new Registry(), control: false }), control);
    await app.start();
    await app.advance({ reason: 'test' });
    const registry = new Registry();
    const detach = prometheusMetrics({ registry, controlCacheMs: 0 }).attach({ migration: 'orders', control });
    const s = await scrape(registry);
    expect(s.value('phase', { migration: 'orders', phase: 'dual-write' })).toBe(1);
    expect(s.value('fleetInstances', { migration: 'orders', phase_version: String(app.state.version) })).toBe(1);
    expect(s.all.some((x) => x.name === 'midair_store_calls_total')).toBe(false);
    detach();
    expect((await scrape(registry)).value('phase', { migration: 'orders', phase: 'dual-write' })).toBeUndefined();
    await app.close();
  });

  it('`control: false` leaves the control store alone: no read at scrape time, no control figure', async () => {
    const { control, reads } = counting(memoryControlStore());
    const registry = new Registry();
    const m = orders(prometheusMetrics({ registry, control: false }), control);
    await m.start();
    await m.repository().put(item(1, 1));
    const before = reads();
    const s = await scrape(registry);
    expect(reads()).toBe(before);
    expect(s.all.some((x) => x.name === 'midair_phase')).toBe(false);
    expect(s.value('storeCalls', { migration: 'orders', side: 'old', op: 'put' })).toBe(1);
    await m.close();
  });

  it('one scrape reads the control store once for all its gauges, and concurrent scrapes share that read', async () => {
    const { control, reads } = counting(memoryControlStore());
    await control.setup();
    await control.init('orders', 'test');
    const registry = new Registry();
    prometheusMetrics({ registry, controlCacheMs: 0 }).attach({ migration: 'orders', control });
    const before = reads();
    const [a, b] = await Promise.all([registry.metrics(), registry.metrics()]);
    expect(reads() - before).toBe(1);
    expect(a).toBe(b);
    expect(a).toContain('midair_phase_version{migration="orders"} 1');
  });

  it('a control store that fails makes midair_control_store_up 0 and leaves the other figures out; the scrape still answers', async () => {
    const control = memoryControlStore();
    const broken = new Proxy(control, {
      get(target, prop, receiver) {
        if (prop === 'getState') return () => Promise.reject(new Error('connection refused'));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const registry = new Registry();
    prometheusMetrics({ registry, controlCacheMs: 0 }).attach({ migration: 'orders', control: broken });
    const s = await scrape(registry);
    expect(s.value('controlUp', { migration: 'orders' })).toBe(0);
    expect(s.all.some((x) => x.name === 'midair_phase')).toBe(false);
  });

  it('refuses what is not a registry, and a second exporter on the same registry, before registering anything', () => {
    expect(failure(() => prometheusMetrics({ registry: {} as Registry })).code).toBe('INVALID_ARGUMENT');
    const registry = new Registry();
    expect(failure(() => prometheusMetrics({ registry, buckets: [1, 0.5] })).message).toContain('ascending');
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    prometheusMetrics({ registry });
    const again = failure(() => prometheusMetrics({ registry }));
    expect(again.code).toBe('CONFLICT');
    expect(again.message).toContain('call it once');
    const other = new Registry();
    other.registerMetric(registry.getSingleMetric('midair_phase') as never);
    expect(failure(() => prometheusMetrics({ registry: other })).message).toContain('midair_phase');
  });
});
