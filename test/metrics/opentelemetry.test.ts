import { metrics as otelApi } from '@opentelemetry/api';
import { DataPointType, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { memoryControlStore, MidairError } from '../../src/index.js';
import { DURATION_BUCKETS, FIGURES, type FigureName } from '../../src/metrics/catalogue.js';
import { openTelemetryMetrics } from '../../src/opentelemetry/index.js';
import { item, rig } from '../migration/setup.js';
import { scriptedMigration, type Reading } from './scenario.js';

/** A reader that collects on demand (the SDK's pull model, in memory). */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override async onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function sdk(): { reader: TestReader; provider: MeterProvider } {
  const reader = new TestReader();
  return { reader, provider: new MeterProvider({ readers: [reader] }) };
}

const byName = new Map<string, FigureName>(
  (Object.entries(FIGURES) as [FigureName, (typeof FIGURES)[FigureName]][]).map(([f, spec]) => [spec.otel, f]),
);

const matches = (attributes: Readonly<Record<string, unknown>>, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(labels).every(([k, v]) => attributes[k] === v);

/** One collection of the reader, read by figure. */
async function collect(reader: TestReader): Promise<Reading & { readonly metrics: MetricData[] }> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  const points = (figure: FigureName, labels: Readonly<Record<string, string>>) => {
    const found = all
      .filter((md) => md.descriptor.name === FIGURES[figure].otel)
      .flatMap((md) => md.dataPoints as { attributes: Record<string, unknown>; value: unknown }[])
      .filter((p) => matches(p.attributes, labels));
    if (found.length > 1) throw new Error(`${found.length} points of ${figure} match ${JSON.stringify(labels)}`);
    return found[0];
  };
  return {
    metrics: all,
    value: (figure, labels = {}) => points(figure, labels)?.value as number | undefined,
    durations: (labels) => points('storeCallDuration', labels)?.value as { count: number; sum: number } | undefined,
    series: () =>
      all.flatMap((md) => {
        const figure = byName.get(md.descriptor.name);
        if (!figure) return [];
        return (md.dataPoints as { attributes: Record<string, string> }[]).map((p) => ({
          figure,
          labels: p.attributes,
        }));
      }),
  };
}

describe('OpenTelemetry metrics', () => {
  it('an in-memory reader after the scripted migration holds the same figures as a scrape', async () => {
    const { reader, provider } = sdk();
    const exporter = openTelemetryMetrics({ meter: provider.getMeter('midair-test'), controlCacheMs: 0 });
    await scriptedMigration(exporter, () => collect(reader));
    const last = await collect(reader);
    const kinds = new Map(last.metrics.map((md) => [md.descriptor.name, md.dataPointType]));
    expect(kinds.get('midair.store.calls')).toBe(DataPointType.SUM);
    expect(kinds.get('midair.store.call.duration')).toBe(DataPointType.HISTOGRAM);
    expect(kinds.get('midair.repair_queue.depth')).toBe(DataPointType.GAUGE);
    const duration = last.metrics.find((md) => md.descriptor.name === 'midair.store.call.duration');
    expect(duration?.descriptor.unit).toBe('s');
    const point = duration?.dataPoints.find((p) => matches(p.attributes, { side: 'old', op: 'put' }));
    expect(point?.value).toMatchObject({ count: 4, buckets: { boundaries: [...DURATION_BUCKETS] } });
    await provider.shutdown();
  });

  it('a closed migration keeps its counts, and a meter takes one exporter', async () => {
    const { reader, provider } = sdk();
    const meter = provider.getMeter('midair-test');
    const exporter = openTelemetryMetrics({ meter, controlCacheMs: 0 });
    const r = await rig({ metrics: exporter, repair: { enabled: false } });
    await r.migration.repository().put(item(1, 1));
    let f = await collect(reader);
    expect(f.value('phase', { migration: 'items', phase: 'old-only' })).toBe(1);
    expect(f.value('storeCalls', { migration: 'items', side: 'old', op: 'put', result: 'ok' })).toBe(1);
    await r.migration.close();
    // What it counted stays (a cumulative counter); no figure is read for it any more (the SDK keeps a gauge's last point).
    f = await collect(reader);
    expect(f.value('storeCalls', { migration: 'items', side: 'old', op: 'put', result: 'ok' })).toBe(1);
    let error: unknown;
    try {
      openTelemetryMetrics({ meter });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MidairError);
    expect((error as MidairError).code).toBe('CONFLICT');
    expect(() => openTelemetryMetrics({ meter: {} as never })).toThrow(/must be an OpenTelemetry Meter/);
    await provider.shutdown();
  });

  it('on the API’s no-op meter (no SDK installed) it costs nothing and breaks nothing', async () => {
    const exporter = openTelemetryMetrics({ meter: otelApi.getMeter('midair-noop') });
    const r = await rig({ metrics: exporter });
    await r.migration.repository().put(item(1, 1));
    expect(await r.migration.repository().get(1)).toEqual(item(1, 1));
    exporter.attach({ migration: 'items', control: memoryControlStore() })();
  });
});
