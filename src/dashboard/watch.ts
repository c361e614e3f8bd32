import type { CliContext } from '../cli/context.js';
import { reachability, status, type StatusReport } from '../cli/commands/status.js';
import { errorSummary } from '../core/errors.js';
import type { MigrationEvents } from '../migration/events.js';
import type { AuditView, FeedEventName, FeedEvents, MigrationView, MismatchView, Sample } from './api-types.js';
import { BackfillProgress } from './backfill-progress.js';
import { Ring } from './ring.js';
import { sampleOf, viewOf } from './view.js';

/** Something in this process that compares shadow reads (the demo's instances): its mismatches are heard. */
export interface MismatchSource {
  on(name: 'mismatch', listener: (payload: MigrationEvents['mismatch']) => void): () => void;
}

export interface WatchOptions {
  /** How many samples the charts keep. Default 3600 (an hour at one a second). */
  readonly history?: number;
  /** How often the stores' schemas are checked (whether each answers), ms. Default 30 000. */
  readonly storeCheckMs?: number;
  /** The audit entries a view holds. Default 50. */
  readonly auditLimit?: number;
  /** Instances in this process whose mismatches the view lists (keys and fields; values only with `valueCapture`). */
  readonly sources?: readonly MismatchSource[];
  /** Row values may be shown: the operator enabled value capture. Default false: keys and counts only. */
  readonly valueCapture?: boolean;
  readonly now?: () => number;
}

type Listener = <N extends FeedEventName>(name: N, data: FeedEvents[N]) => void;

const RECENT_MISMATCHES = 20;

/**
 * One migration, sampled: every {@link tick} reads what `midair status`
 * reads (the same function) and the backfill's figures, keeps the view and a
 * bounded history of samples for the charts, and tells its listeners about
 * each new sample and every change of phase, audit log or gates.
 */
export class MigrationWatch {
  readonly name: string;
  readonly #ctx: CliContext;
  readonly #now: () => number;
  readonly #samples: Ring<Sample>;
  readonly #storeCheckMs: number;
  readonly #auditLimit: number;
  readonly #listeners = new Set<Listener>();
  readonly #backfill: BackfillProgress;
  readonly #recent: Ring<MismatchView> | undefined;
  readonly #offSources: (() => void)[] = [];
  #view: MigrationView | undefined;
  #error: { readonly code: string; readonly message: string } | undefined;
  #stores: { at: number; value: StatusReport['stores'] } | undefined;
  #ticking: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(ctx: CliContext, o: WatchOptions = {}) {
    this.name = ctx.spec.name;
    this.#ctx = ctx;
    this.#now = o.now ?? (() => Date.now());
    this.#samples = new Ring(o.history ?? 3600);
    this.#storeCheckMs = o.storeCheckMs ?? 30_000;
    this.#auditLimit = o.auditLimit ?? 50;
    this.#backfill = new BackfillProgress(this.#now, async () => ctx.old.count());
    if (o.sources && o.sources.length > 0) {
      const recent = new Ring<MismatchView>(RECENT_MISMATCHES);
      this.#recent = recent;
      for (const source of o.sources)
        this.#offSources.push(
          source.on('mismatch', (m) =>
            recent.push({
              at: new Date(this.#now()).toISOString(),
              keyId: m.keyId,
              fields: [...m.fields],
              phase: m.phase,
              ...(o.valueCapture && m.values ? { values: m.values } : {}),
            }),
          ),
        );
    }
  }

  /** The last view read, or `undefined` before the first read succeeded. */
  get view(): MigrationView | undefined {
    return this.#view;
  }

  /** Why the last read failed, or `undefined` when it succeeded. */
  get error(): { readonly code: string; readonly message: string } | undefined {
    return this.#error;
  }

  /** The samples kept, oldest first. */
  samples(): Sample[] {
    return this.#samples.toArray();
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Samples every `ms` until {@link stop}; a sample still running when the next is due is waited for, not doubled. */
  start(ms: number): void {
    this.stop();
    this.#timer = setInterval(() => void this.tick(), ms);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.stop();
    for (const off of this.#offSources.splice(0)) off();
    this.#listeners.clear();
  }

  /** Reads the migration once (joining a read already running). A failed read keeps the last view, with the error. */
  async tick(): Promise<void> {
    this.#ticking ??= this.#read().finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  /** The view, read now when none was read yet. */
  async current(): Promise<MigrationView | undefined> {
    if (!this.#view) await this.tick();
    return this.#view;
  }

  #emit<N extends FeedEventName>(name: N, data: FeedEvents[N]): void {
    for (const l of this.#listeners) l(name, data);
  }

  async #read(): Promise<void> {
    const ctx = this.#ctx;
    const at = this.#now();
    try {
      if (!this.#stores || at - this.#stores.at >= this.#storeCheckMs)
        this.#stores = { at, value: await reachability(ctx) };
      const { report, facts } = await status(ctx, { stores: this.#stores.value, auditLimit: this.#auditLimit });
      const backfill = await this.#backfill.read(ctx.control, ctx.spec.name, {
        run: facts.backfill.run ?? 'backfill',
        started: report.backfill.started,
        complete: report.backfill.complete,
        ranges: report.backfill.ranges,
        migrationStarted: report.started,
      });
      const view = viewOf(report, facts, {
        thresholds: ctx.thresholds,
        backfill,
        recent: this.#recent ? this.#recent.toArray().reverse() : null,
        at: new Date(at),
      });
      this.#changed(this.#view, view);
      this.#view = view;
      this.#error = undefined;
      const sample = sampleOf(view, at);
      this.#samples.push(sample);
      this.#emit('sample', { view, sample });
    } catch (err) {
      const error = errorSummary(err);
      this.#error = error;
      if (this.#view) this.#view = { ...this.#view, error };
      this.#emit('failure', { error, view: this.#view ?? null });
    }
  }

  /** The feed's events for what changed between two reads. */
  #changed(before: MigrationView | undefined, after: MigrationView): void {
    if (
      !before ||
      before.phase !== after.phase ||
      before.version !== after.version ||
      before.rampPercent !== after.rampPercent
    )
      this.#emit('phase', {
        from: before ? { phase: before.phase, version: before.version } : null,
        to: { phase: after.phase, version: after.version, rampPercent: after.rampPercent },
      });
    const seen = before?.audit[0]?.seq ?? -1;
    const added: AuditView[] = after.audit.filter((e) => e.seq > seen);
    if (before && added.length > 0) this.#emit('audit', { entries: added });
    if (!before || JSON.stringify([before.next, before.gates]) !== JSON.stringify([after.next, after.gates]))
      this.#emit('gates', { next: after.next, gates: after.gates });
  }
}
