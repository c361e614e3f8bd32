import { Histogram, type HistogramConfiguration } from 'prom-client';
import type { HistogramSample } from '../metrics/catalogue.js';

type Collected = Awaited<ReturnType<Histogram['get']>>;

/**
 * A prom-client histogram whose buckets are midair's own tallies, read when
 * the registry collects: a store call adds to plain numbers instead of
 * observing (which hashes its label set on every call, more than the call
 * it measures costs on a fast store). It exports what a prom-client
 * histogram exports — `_bucket` per bound and `+Inf`, `_sum`, `_count` — and
 * its own `observe` is not used.
 */
export class TalliedHistogram extends Histogram {
  readonly #name: string;
  readonly #help: string;
  readonly #samples: () => readonly HistogramSample[];

  constructor(config: HistogramConfiguration<string>, samples: () => readonly HistogramSample[]) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#samples = samples;
  }

  override async get(): Promise<Collected> {
    return Promise.resolve(this.#collected());
  }

  /** What the registry formats (prom-client asks for it before `get`). */
  async getForPromString(): Promise<Collected> {
    return Promise.resolve(this.#collected());
  }

  #collected(): Collected {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const bucket = `${this.#name}_bucket`;
    for (const s of this.#samples()) {
      let cumulative = 0;
      s.bounds.forEach((le, i) => {
        cumulative += s.buckets[i] ?? 0;
        values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: bucket });
      });
      values.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.#name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.#name}_count` });
    }
    // prom-client types `type` as an enum its JavaScript never defines; the value it uses is the string.
    return { name: this.#name, help: this.#help, type: 'histogram', aggregator: 'sum', values } as unknown as Collected;
  }
}
