import type { ControlStore, PhaseState } from '../control/control-store.js';
import { keyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { Side } from '../core/phases.js';
import { sleep } from '../core/sleep.js';
import type { AutoHalt } from './auto-halt.js';
import type { ShadowCompared, TypedEvents } from './events.js';
import { CHECKPOINTS, saveCheckpoint, type ShadowCounters } from '../control/checkpoints.js';
import type { MigrationStats } from './options.js';
import { compareAnswers, type ShadowOptions } from './shadow.js';
import { withTimeout } from './timeout.js';
import { errorCode } from './repository-calls.js';

/** Keys per read of the other store: bounds how long one batch's comparisons hold the event loop. */
const BATCH = 256;

/** The `shadow-compared` payloads: one of three, made once (a comparison allocates nothing to say how it ended). */
const COMPARED: Readonly<Record<ShadowCompared['result'], ShadowCompared>> = Object.freeze({
  match: Object.freeze({ result: 'match' }),
  mismatch: Object.freeze({ result: 'mismatch' }),
  error: Object.freeze({ result: 'error' }),
});

/** A comparison waiting to run: the key, the answer served, and where and under which phase it was served. */
interface ShadowJob<K, E> {
  readonly key: K;
  readonly answer: E | undefined;
  readonly servedFrom: Side;
  readonly state: PhaseState;
}

export interface ShadowDeps<K extends Key, E extends object> {
  readonly name: string;
  readonly instanceId: string;
  readonly control: ControlStore;
  readonly old: Store<K, E>;
  readonly new: Store<K, E>;
  readonly timeoutMs: number;
  readonly shadow: ShadowOptions<E>;
  readonly stats: MigrationStats;
  readonly events: TypedEvents;
  readonly halt: AutoHalt;
}

/**
 * Shadow reads: compares a served answer with the other store off the
 * served path, counts the outcomes for the fleet-wide gate, and feeds
 * auto-halt's rates.
 */
export class ShadowComparator<K extends Key, E extends object> {
  readonly #d: ShadowDeps<K, E>;
  #inFlight = 0;
  /** Comparisons waiting for a read of the other store, per store: one read of many keys at a time each. */
  readonly #waiting = new Map<Store<K, E>, ShadowJob<K, E>[]>();
  /** Stores a batch read is running on (or about to). */
  readonly #reading = new Set<Store<K, E>>();
  /** Resolved when the last comparison in flight ends (made only while someone waits). */
  #idle: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;
  /** Shadow comparisons in the current phase version, saved for the fleet-wide gate (at most once a second). */
  readonly #counters = { phaseVersion: 0, comparisons: 0, mismatches: 0, dirty: false, savedAt: 0 };

  constructor(deps: ShadowDeps<K, E>) {
    this.#d = deps;
  }

  /** Comparisons queued or running. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves when no comparison is queued or running any more. */
  async idle(): Promise<void> {
    if (!this.#idle) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#idle = { promise, resolve };
    }
    await this.#idle.promise;
  }

  #count(version: number, mismatch: boolean): void {
    const c = this.#counters;
    if (c.phaseVersion !== version) Object.assign(c, { phaseVersion: version, comparisons: 0, mismatches: 0 });
    c.comparisons++;
    if (mismatch) c.mismatches++;
    c.dirty = true;
  }

  async saveCounters(force = false): Promise<void> {
    const c = this.#counters;
    if (!c.dirty || (!force && Date.now() - c.savedAt < 1000)) return;
    c.dirty = false;
    c.savedAt = Date.now();
    const saved: ShadowCounters = {
      phaseVersion: c.phaseVersion,
      comparisons: c.comparisons,
      mismatches: c.mismatches,
    };
    await saveCheckpoint(this.#d.control, this.#d.name, CHECKPOINTS.shadow(this.#d.instanceId), saved);
  }

  /**
   * Queues a comparison off the served path: the call that served the answer
   * only pushes a record. Each store the comparisons read has one read in
   * flight at a time, of every key queued for it (up to {@link BATCH}): it
   * starts in the next turn of the event loop, after the answers of this turn
   * have gone back to their callers, and the keys queued while it runs go
   * together in the next one. Against a slow store that is one statement per
   * round trip instead of one per served call.
   */
  schedule(key: K, answer: E | undefined, servedFrom: Side, state: PhaseState): void {
    const shadow = this.#d.shadow;
    if (shadow.sampleRate !== undefined && Math.random() >= shadow.sampleRate) return;
    if (this.#inFlight >= (shadow.maxInFlight ?? 64)) {
      this.#d.stats.comparisonsDropped++;
      return;
    }
    this.#inFlight++;
    const other = servedFrom === 'old' ? this.#d.new : this.#d.old;
    const waiting = this.#waiting.get(other);
    if (waiting) waiting.push({ key, answer, servedFrom, state });
    else this.#waiting.set(other, [{ key, answer, servedFrom, state }]);
    if (!this.#reading.has(other)) {
      this.#reading.add(other);
      setImmediate(() => void this.#readBatch(other));
    }
  }

  /** One read of the queued keys of `store`, then their comparisons; again while more were queued meanwhile. */
  async #readBatch(store: Store<K, E>): Promise<void> {
    const queued = this.#waiting.get(store) ?? [];
    const jobs = queued.splice(0, BATCH);
    if (queued.length === 0) this.#waiting.delete(store);
    let found: Map<string, E | undefined> | undefined;
    try {
      const keys = [...new Map(jobs.map((j) => [keyId(j.key), j.key])).values()];
      // Heard under the newest phase state of the batch: the capacity figures count a call in the version it served.
      const state = jobs.reduce(
        (a, j) => (j.state.version > a.version ? j.state : a),
        (jobs[0] as ShadowJob<K, E>).state,
      );
      const values = await this.#read(store, state, (signal) => store.getMany(keys, { signal }));
      found = new Map(keys.map((k, i) => [keyId(k), values[i]]));
    } catch {
      found = undefined;
    }
    if (this.#waiting.has(store)) setImmediate(() => void this.#readBatch(store));
    else this.#reading.delete(store);
    await Promise.all(jobs.map(async (job) => this.#run(job, found)));
  }

  /**
   * A shadow read of `store`, bounded by the timeout, and heard as a
   * `store-call` (op `shadow-read`) while something listens: shadow reads
   * are how new's read latency is seen before it serves reads.
   */
  async #read<T>(store: Store<K, E>, state: PhaseState, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const events = this.#d.events;
    const started = events.has('store-call') ? performance.now() : undefined;
    const heard = (error?: string): void => {
      if (started === undefined) return;
      events.emit('store-call', {
        side: store === this.#d.old ? 'old' : 'new',
        op: 'shadow-read',
        phase: state.phase,
        phaseVersion: state.version,
        ms: performance.now() - started,
        ...(error === undefined ? {} : { error }),
      });
    };
    try {
      const result = await withTimeout(fn, this.#d.timeoutMs, 'shadow read');
      heard();
      return result;
    } catch (error) {
      heard(errorCode(error));
      throw error;
    }
  }

  /** One comparison, counted in flight from when it was queued until it ends (settle() waits for them all). */
  async #run(job: ShadowJob<K, E>, found: ReadonlyMap<string, E | undefined> | undefined): Promise<void> {
    try {
      await this.#compare(job, found);
    } catch (error) {
      this.#d.events.emit('error', { operation: 'background', error });
    } finally {
      if (--this.#inFlight === 0 && this.#idle) {
        this.#idle.resolve();
        this.#idle = undefined;
      }
    }
  }

  /** Compares a served answer with `found` (the other store's batch read; `undefined`: it failed). */
  async #compare(
    { key, answer, servedFrom, state }: ShadowJob<K, E>,
    found: ReadonlyMap<string, E | undefined> | undefined,
  ): Promise<void> {
    const { shadow, stats, halt } = this.#d;
    const other = servedFrom === 'old' ? this.#d.new : this.#d.old;
    const served = servedFrom === 'old' ? this.#d.old : this.#d.new;
    const read = (s: Store<K, E>): Promise<E | undefined> => this.#read(s, state, (signal) => s.get(key, { signal }));
    let mine = answer;
    if (!found) {
      stats.secondaryFailures++;
      this.#d.events.emit('shadow-compared', COMPARED.error);
      halt.recordSecondary(true);
      halt.check();
      return;
    }
    let theirs = found.get(keyId(key));
    halt.recordSecondary(false);
    const pair = (): [E | undefined, E | undefined] => (servedFrom === 'old' ? [mine, theirs] : [theirs, mine]);
    let fields = compareAnswers(...pair(), shadow);
    const recheck = shadow.recheckMs ?? 50;
    if (fields.length > 0 && recheck > 0) {
      await sleep(recheck);
      [mine, theirs] = await Promise.all([read(served), read(other)]);
      fields = compareAnswers(...pair(), shadow);
    }
    stats.comparisons++;
    this.#count(state.version, fields.length > 0);
    this.#d.events.emit('shadow-compared', fields.length > 0 ? COMPARED.mismatch : COMPARED.match);
    halt.recordComparison(fields.length > 0);
    if (fields.length > 0) {
      stats.mismatches++;
      const [oldE, newE] = pair();
      this.#d.events.emit('mismatch', {
        keyId: keyId(key),
        fields,
        phase: state.phase,
        ...(shadow.includeValues ? { values: { old: oldE, new: newE } } : {}),
      });
      halt.check();
    }
  }
}
