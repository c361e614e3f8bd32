import { MidairError } from '../core/errors.js';
import type { GateThresholds } from '../migration/gates.js';
import type { MetricsSource } from '../migration/metrics-port.js';
import { CachedRead } from './cached-read.js';
import { DURATION_BUCKETS, type FigureName, type HistogramSample, type Sample } from './catalogue.js';
import { readControlFigures, type ControlSamples } from './control-figures.js';
import { MigrationTally } from './migration-tally.js';

/** What both exporters take besides their library's registry or meter. */
export interface ExporterOptions {
  /**
   * Export the control store's figures (phase, fleet, queues, backfill,
   * verification, gates). Default true. Every process that does reads the
   * control store when collected (at most once per `controlCacheMs`); turn
   * it off in the application's instances when a dashboard or worker
   * process exports them already.
   */
  readonly control?: boolean;
  /** How long one read of the control store serves collections, ms. Default 1000. */
  readonly controlCacheMs?: number;
  /** The thresholds the gates are checked with, for a source that gives none. */
  readonly thresholds?: GateThresholds;
  /** Upper bounds of the store-call histogram, seconds, ascending. Default 0.1 ms to 10 s. */
  readonly buckets?: readonly number[];
}

/** The options with their defaults, checked: a wrong one is refused before anything is registered. */
export function exporterSettings(o: ExporterOptions, who: string): Required<Omit<ExporterOptions, 'thresholds'>> {
  const cacheMs = o.controlCacheMs ?? 1000;
  if (!Number.isFinite(cacheMs) || cacheMs < 0)
    throw new MidairError('INVALID_ARGUMENT', `${who}: controlCacheMs must be a number of ms, 0 or more`);
  const buckets = o.buckets ?? DURATION_BUCKETS;
  if (buckets.length === 0 || buckets.some((b, i) => !(b > 0) || (i > 0 && b <= (buckets[i - 1] as number))))
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${who}: buckets must be upper bounds in seconds, above 0 and ascending (e.g. [0.001, 0.01, 0.1, 1])`,
    );
  return { control: o.control ?? true, controlCacheMs: cacheMs, buckets: Object.freeze([...buckets]) };
}

/**
 * The driver-free half of an exporter: counts the events of every attached
 * migration ({@link MigrationTally}) and reads their control stores when
 * asked ({@link readControlFigures}, shared through {@link CachedRead}). An
 * exporter turns what it hands over into its library's instruments.
 */
export class MetricsHub {
  readonly #settings: Required<Omit<ExporterOptions, 'thresholds'>>;
  readonly #thresholds: GateThresholds;
  readonly #tallies = new Map<string, MigrationTally>();
  /** Attached sources by migration name: the control store is read through the first of them. */
  readonly #sources = new Map<string, MetricsSource[]>();
  readonly #reads = new Map<string, CachedRead<ControlSamples>>();
  /** Attached sources that give events, by migration name. */
  readonly #listening = new Map<string, number>();

  constructor(options: ExporterOptions, who: string) {
    this.#settings = exporterSettings(options, who);
    this.#thresholds = options.thresholds ?? {};
  }

  get buckets(): readonly number[] {
    return this.#settings.buckets;
  }

  attach(source: MetricsSource): () => void {
    const name = source.migration;
    const tally = this.#tallies.get(name) ?? new MigrationTally(name, this.#settings.buckets);
    this.#tallies.set(name, tally);
    const stop = tally.listen(source);
    if (source.on) this.#listening.set(name, (this.#listening.get(name) ?? 0) + 1);
    if (this.#settings.control) this.#sources.set(name, [...(this.#sources.get(name) ?? []), source]);
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      stop();
      const listening = (this.#listening.get(name) ?? 0) - (source.on ? 1 : 0);
      this.#listening.set(name, listening);
      // No instance of it serves in this process any more: its served version is no longer a figure (its counts stay).
      if (listening === 0) tally.phaseVersion = undefined;
      const left = (this.#sources.get(name) ?? []).filter((s) => s !== source);
      if (left.length > 0) this.#sources.set(name, left);
      else {
        this.#sources.delete(name);
        this.#reads.delete(name);
      }
    };
  }

  /** Every migration's samples of an event figure. */
  eventSamples(figure: FigureName): Sample[] {
    return [...this.#tallies.values()].flatMap((t) => t.samples(figure) ?? []);
  }

  durations(): HistogramSample[] {
    return [...this.#tallies.values()].flatMap((t) => t.durations());
  }

  /** Every attached migration's control-store figures (one read per migration at a time, kept `controlCacheMs`). */
  async controlSamples(): Promise<ControlSamples> {
    const reads = [...this.#sources.keys()].map((name) => {
      let read = this.#reads.get(name);
      if (!read) {
        read = new CachedRead(async () => {
          const source = this.#sources.get(name)?.[0];
          return source ? readControlFigures(source, this.#thresholds) : new Map();
        }, this.#settings.controlCacheMs);
        this.#reads.set(name, read);
      }
      return read.get();
    });
    const merged: ControlSamples = new Map();
    for (const samples of await Promise.all(reads))
      for (const [figure, list] of samples) merged.set(figure, [...(merged.get(figure) ?? []), ...list]);
    return merged;
  }
}
