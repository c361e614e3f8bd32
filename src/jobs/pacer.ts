import type { Fleet } from '../control/fleet.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { sleep as realSleep } from '../core/sleep.js';
import type { Store } from '../core/store.js';
import {
  DEFAULT_SERVED_LATENCY_FACTOR,
  inWindow,
  type PaceOptions,
  type PaceReason,
  type WaitedMs,
  type WaitReason,
} from './pace.js';
import { PaceController } from './pace-controller.js';
import { median, ServedFleet } from './served-latency.js';
import type { Throttle } from './throttle.js';

/** A run measures its stores again at most this often (each probe of a store is a commit of its own). */
export const PROBE_EVERY_MS = 100;
/** A reading of the probe is the median of this many probes (the latest and the two before). */
const PROBES_PER_READING = 3;
/** How long a run outside its windows sleeps before it looks again. */
const WINDOW_SLEEP_MS = 30_000;
/** Served reports come every heartbeat and cover a second: waiting longer than this between looks only loses time. */
const SERVED_MAX_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;

export interface PacerOptions extends PaceOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onWait?: ((reason: PaceReason) => void) | undefined;
}

export interface PacerDeps<K extends Key, E extends object> {
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  /** Where the application instances' heartbeats (and their served-write latency) are. */
  readonly fleet: Pick<Fleet, 'instances'>;
  readonly migration: string;
  readonly options: PacerOptions;
  /** The clock, ms (sub-millisecond where it can: a budget of 1 ms must be measurable). Default `performance.now`. */
  readonly now?: () => number;
  /** The wall clock the windows are read from, and the fleet's heartbeats compared with. Default `new Date()`. */
  readonly date?: () => Date;
  /** How the run waits. Default a timer that the signal ends early. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The pace of one run, shared by all its workers: before each chunk it
 * checks the windows, probes both stores (a commit where the store can, a
 * point read otherwise), reads the fleet's served-write latency and the
 * replica lag, and waits while one is past its bound; after each chunk it
 * pauses as long as its duty cycle asks ({@link PaceController}); and it
 * adds up how long the run waited for each reason.
 */
export class Pacer<K extends Key, E extends object> {
  readonly #d: PacerDeps<K, E>;
  readonly #o: PacerOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #controller: PaceController;
  readonly #served: ServedFleet | undefined;
  readonly #waited: Record<string, number> = {};
  /** Stores whose commit probe failed for a missing table: read-probed for the rest of the run. */
  readonly #noCommit = new Set<Store<K, E>>();
  #probedAt = -Infinity;
  /** The last few probes: a reading is their median, so one stray probe neither stops nor eases the run. */
  readonly #probes: number[] = [];

  constructor(deps: PacerDeps<K, E>) {
    this.#d = deps;
    this.#o = deps.options;
    this.#now = deps.now ?? ((): number => performance.now());
    this.#sleep = deps.sleep ?? realSleep;
    const factor = this.#o.servedLatencyFactor ?? DEFAULT_SERVED_LATENCY_FACTOR;
    if (!(factor > 1))
      throw new MidairError(
        'INVALID_ARGUMENT',
        `servedLatencyFactor must be above 1 (or Infinity to turn it off), got ${String(factor)}`,
      );
    this.#controller = new PaceController({ latencyBudgetMs: this.#o.latencyBudgetMs, servedLatencyFactor: factor });
    const wall = (): number => (deps.date?.() ?? new Date()).getTime();
    this.#served = Number.isFinite(factor) ? new ServedFleet(deps.fleet, deps.migration, this.#now, wall) : undefined;
  }

  /** Before the first chunk: the fleet's served latency the run will be compared with (about a second, where the fleet reports). */
  async start(): Promise<void> {
    await this.#served?.start(async (ms) => this.#sleep(ms, this.#o.signal), this.#o.servedBaseline);
  }

  /** The fleet's served levels the run compares with (p99 ms by instance; empty: none, or served pacing off). */
  get servedBaseline(): Record<string, number> {
    return Object.fromEntries(this.#served?.baseline ?? []);
  }

  /** How long the run waited so far, ms, by reason. */
  get waited(): WaitedMs {
    return Object.fromEntries(Object.entries(this.#waited).map(([k, v]) => [k, Math.round(v)]));
  }

  /** The share of its time the run copies now (1: full speed). */
  get duty(): number {
    return this.#controller.duty;
  }

  /** Adds a wait the caller made (its rows/s ceiling, an operator's pause). */
  count(reason: WaitReason, ms: number): void {
    if (ms > 0) this.#waited[reason] = (this.#waited[reason] ?? 0) + ms;
  }

  async #wait(reason: WaitReason, ms: number): Promise<void> {
    const t0 = this.#now();
    await this.#sleep(ms, this.#o.signal);
    this.count(reason, this.#now() - t0);
  }

  get #active(): boolean {
    const o = this.#o;
    return (
      (o.windows !== undefined && o.windows.length > 0) ||
      o.latencyBudgetMs !== undefined ||
      o.replicaLag !== undefined ||
      (this.#served !== undefined && this.#served.baseline.size > 0)
    );
  }

  /**
   * Waits until the next chunk may run, and sizes it (`throttle`): resolves
   * false when aborted meanwhile. `probeKey` is where a store without a
   * commit probe is read (none yet: it is not probed).
   */
  async beforeChunk(throttle: Throttle, probeKey: K | undefined): Promise<boolean> {
    if (!this.#active) return true;
    const o = this.#o;
    const since = this.#now();
    for (let backoff = 100; ;) {
      if (o.signal?.aborted) return false;
      if (!inWindow(o.windows, this.#d.date?.() ?? new Date())) {
        o.onWait?.('window');
        await this.#wait('window', WINDOW_SLEEP_MS);
        continue;
      }
      const waiting = backoff > 100;
      const verdict = await this.#read(probeKey, waiting, waiting ? this.#now() - since : 0);
      if (verdict.wait && verdict.reason) {
        throttle.shrink();
        o.onWait?.(verdict.reason);
        const cap = verdict.reason === 'served-latency' ? SERVED_MAX_BACKOFF_MS : MAX_BACKOFF_MS;
        await this.#wait(verdict.reason, Math.min(backoff, cap));
        backoff = Math.min(backoff * 2, cap);
        continue;
      }
      if (o.replicaLag && (await o.replicaLag()) > (o.maxReplicaLagMs ?? 1000)) {
        o.onWait?.('replica-lag');
        await this.#wait('replica-lag', backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        continue;
      }
      throttle.scale = this.#controller.duty;
      return true;
    }
  }

  /** After a chunk that took `chunkMs`: the pause the duty cycle asks for (nothing at full speed). */
  async afterChunk(chunkMs: number): Promise<void> {
    const pause = this.#controller.pauseAfter(chunkMs);
    if (pause <= 0 || this.#o.signal?.aborted) return;
    await this.#wait(this.#controller.last.reason ?? 'latency', pause);
  }

  /** The signals, measured again where due (or `fresh`), and the controller's verdict on them. */
  async #read(
    probeKey: K | undefined,
    fresh: boolean,
    idleMs: number,
  ): Promise<{ wait: boolean; reason: PaceReason | undefined }> {
    const signals: { probeMs?: number; servedRatio?: number } = {};
    let measured = false;
    if (this.#o.latencyBudgetMs !== undefined && (fresh || this.#now() - this.#probedAt >= PROBE_EVERY_MS)) {
      this.#probes.push(await this.#probe(probeKey));
      if (this.#probes.length > PROBES_PER_READING) this.#probes.shift();
      this.#probedAt = this.#now();
      measured = true;
    }
    if (this.#probes.length > 0) signals.probeMs = median(this.#probes);
    const served = await this.#served?.ratio(fresh, idleMs);
    if (served?.fresh) measured = true;
    if (served?.ratio !== undefined) signals.servedRatio = served.ratio;
    const verdict = measured ? this.#controller.observe(signals) : this.#controller.last;
    return { wait: verdict.wait, reason: verdict.reason };
  }

  /** Both stores probed at once; the slower one's time, ms. */
  async #probe(probeKey: K | undefined): Promise<number> {
    const times = await Promise.all([
      this.#probeOne(this.#d.source, probeKey),
      this.#probeOne(this.#d.target, probeKey),
    ]);
    return Math.max(...times);
  }

  async #probeOne(store: Store<K, E>, probeKey: K | undefined): Promise<number> {
    const signal = this.#o.signal;
    const t0 = this.#now();
    if (store.commitProbe && !this.#noCommit.has(store)) {
      try {
        await store.commitProbe.commit({ signal });
        return this.#now() - t0;
      } catch (error) {
        // A store set up before the probe table existed: its reads pace the run instead (setup() adds the table).
        if (!(error instanceof MidairError && error.code === 'SCHEMA_MISMATCH')) throw error;
        this.#noCommit.add(store);
      }
    }
    if (probeKey === undefined) return 0;
    const t1 = this.#now();
    await store.get(probeKey, { signal });
    return this.#now() - t1;
  }
}
