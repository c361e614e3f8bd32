import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../errors.js';
import { keyId, parseKeyId, type Key } from '../keys.js';
import type { BulkWriteResult, Store } from '../store.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import { paceCheck, type PaceOptions, type PaceReason } from './pace.js';

export interface BackfillProgress {
  readonly rowsDone: number;
  /** The old store's row count when the run started (an estimate: it changes under live traffic). */
  readonly total: number;
  readonly rowsPerSecond: number;
  /** Estimated time left, ms (undefined until a rate is known). */
  readonly etaMs: number | undefined;
  readonly chunkSize: number;
}

export interface BackfillOptions<E> extends ThrottleOptions, PaceOptions {
  /** The checkpoint's name: runs with the same name resume each other. Default `backfill` (`sweep` for a sweep). */
  readonly name?: string;
  /** Start from the first key, ignoring a saved checkpoint. */
  readonly restart?: boolean;
  /** Changes each entity on its way (the user's code; a throw sends the row to the dead letters). */
  readonly transform?: (entity: E) => E | Promise<E>;
  /** What a row that cannot be copied does: go to the dead letters and the run goes on (default), or stop the run. */
  readonly onRowError?: 'dead-letter' | 'stop';
  /** Copy only keys that new does not have (a sweep after lazy migration). */
  readonly missingOnly?: boolean;
  /**
   * How a chunk is written. `sync` (default): under new's key locks, the
   * chunk's keys are read again from old and written as read — correct
   * whatever the entities' versions, even over rows new got from an earlier
   * write. `conditional`: the scanned rows are written with the conditional
   * bulk write (one read of old instead of two); correct only where every
   * write to old raises the version (a version assigned by the database), and
   * insert-only without a version column.
   */
  readonly mode?: 'sync' | 'conditional';
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: BackfillProgress) => void;
  /** Called when the run waits: outside its time windows, stores too slow, replicas lagging. */
  readonly onWait?: (reason: PaceReason) => void;
  /**
   * Copy with this many workers in this process. Above 1, the key space is
   * split at sampled real keys into ranges leased through the control store,
   * so several processes (on several machines) share one backfill: a range
   * whose worker dies is taken over when its lease runs out. Default 1.
   */
  readonly workers?: number;
  /** Ranges to split the key space into (parallel runs). Default 4 × workers. */
  readonly ranges?: number;
  /** How long a range lease lasts without renewal (renewed after each chunk). Default 30 s. */
  readonly leaseMs?: number;
  /** This process's name on its leases. Default host:pid:random. */
  readonly owner?: string;
}

/** The outcome of a run, step by step — a run never throws halfway. */
export interface BackfillResult {
  readonly status: 'complete' | 'stopped' | 'aborted' | 'failed';
  readonly chunks: number;
  readonly rowsRead: number;
  readonly inserted: number;
  readonly updated: number;
  /** Rows deleted in old since the chunk was read (sync mode), now deleted in new too. */
  readonly deleted: number;
  readonly skippedExisting: number;
  readonly skippedTombstoned: number;
  readonly deadLetters: number;
  readonly durationMs: number;
  /** The key the run resumed after, if it resumed. */
  readonly resumedAfter?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Where a run stands: the copy pass walks old's keys; the prune pass then
 * walks new's keys and deletes those old no longer has (rows new got from a
 * neighbour still one phase behind, or from before a rollback).
 */
interface Checkpoint {
  readonly pass?: 'copy' | 'prune';
  readonly after?: string;
  readonly complete: boolean;
}

/** Settings an operator can change while a backfill runs (through the control store). */
export interface BackfillControl {
  readonly paused?: boolean;
  readonly maxRowsPerSecond?: number;
}

const sleep = async (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** The control-store checkpoint where operators pause, resume and retune a run. */
export function backfillControlName(name: string): string {
  return `${name}:control`;
}

/**
 * Copies every entity of `source` into `target` with the conditional bulk
 * write, chunk by chunk in key order, saving a checkpoint after each
 * committed chunk. A run killed at any point and started again resumes after
 * the last checkpoint: chunks written twice are skipped by the conditional
 * write, so there is no duplicate and no gap.
 */
export async function runBackfill<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E> = {},
): Promise<BackfillResult> {
  const started = Date.now();
  const name = options.name ?? (options.missingOnly ? 'sweep' : 'backfill');
  const counts = { chunks: 0, rowsRead: 0, inserted: 0, updated: 0, deleted: 0, skippedExisting: 0, skippedTombstoned: 0, deadLetters: 0 };
  const finish = (status: BackfillResult['status'], resumedAfter: string | undefined, error?: unknown): BackfillResult => ({
    status,
    ...counts,
    durationMs: Date.now() - started,
    ...(resumedAfter === undefined ? {} : { resumedAfter }),
    ...(error === undefined
      ? {}
      : { error: error instanceof MidairError ? { code: error.code, message: error.message } : { code: 'UNKNOWN', message: error instanceof Error ? error.name : 'error' } }),
  });
  let resumedAfter: string | undefined;
  try {
    if (options.restart && (options.workers ?? 1) > 1) await control.dropRanges(migration, name);
    const saved = options.restart ? undefined : await control.loadCheckpoint(migration, name);
    const checkpoint: Checkpoint = saved ? (JSON.parse(saved) as Checkpoint) : { complete: false };
    if (checkpoint.complete) return finish('complete', undefined);
    resumedAfter = checkpoint.after;
    const total = await source.count({ signal: options.signal });
    const throttle = new Throttle(options);
    const sync = (options.mode ?? 'sync') === 'sync' && !options.missingOnly;
    const passes: ('copy' | 'prune')[] = options.missingOnly ? ['copy'] : ['copy', 'prune'];
    let skip = checkpoint.pass === 'prune' ? 1 : 0;
    if ((options.workers ?? 1) > 1 && skip === 0) {
      const progress = (rate: number, chunkSize: number): void =>
        options.onProgress?.({
          rowsDone: counts.rowsRead,
          total,
          rowsPerSecond: Math.round(rate),
          etaMs: rate > 0 ? Math.max(0, ((total - counts.rowsRead) / rate) * 1000) : undefined,
          chunkSize,
        });
      const outcome = await copyInRanges(migration, name, source, target, control, options, counts, sync, progress);
      if (outcome.status !== 'complete') return finish(outcome.status, resumedAfter, outcome.error);
      await control.saveCheckpoint(migration, name, JSON.stringify({ pass: 'prune', complete: passes.length === 1 } satisfies Checkpoint));
      skip = 1;
    }
    for (const pass of passes.slice(skip)) {
      const scanned = pass === 'copy' ? source : target;
      let after = checkpoint.pass === pass && checkpoint.after !== undefined ? (parseKeyId(checkpoint.after) as K) : undefined;
      for (;;) {
        if (options.signal?.aborted) return finish('aborted', resumedAfter);
        const settings = await readControl(control, migration, name);
        if (settings.maxRowsPerSecond !== undefined) throttle.maxRowsPerSecond = settings.maxRowsPerSecond;
        if (settings.paused) {
          await sleep(200, options.signal);
          continue;
        }
        if (!(await waitForPace(source, target, options, after, throttle))) return finish('aborted', resumedAfter);
        const t0 = Date.now();
        const size = throttle.chunkSize;
        const page = await firstPage(scanned, after, size, options.signal);
        if (page.length === 0) break;
        counts.chunks++;
        if (pass === 'copy') {
          counts.rowsRead += page.length;
          const ctx = { migration, source, target, control, options, counts };
          const stopped = sync ? await syncChunk(page, ctx) : await copyChunk(page, ctx);
          if (stopped) return finish('stopped', resumedAfter, stopped);
        } else {
          await pruneChunk(page, source, target, options, counts);
        }
        after = scanned.keyOf(page[page.length - 1] as E);
        await control.saveCheckpoint(migration, name, JSON.stringify({ pass, after: keyId(after), complete: false } satisfies Checkpoint));
        const wait = throttle.record(page.length, Date.now() - t0);
        const rate = throttle.rate ?? 0;
        if (pass === 'copy') {
          options.onProgress?.({
            rowsDone: counts.rowsRead,
            total,
            rowsPerSecond: Math.round(rate),
            etaMs: rate > 0 ? Math.max(0, ((total - counts.rowsRead) / rate) * 1000) : undefined,
            chunkSize: throttle.chunkSize,
          });
        }
        if (page.length < size) break;
        if (wait > 0) await sleep(wait, options.signal);
      }
      await control.saveCheckpoint(migration, name, JSON.stringify({ pass: 'prune', complete: pass === 'prune' || passes.length === 1 } satisfies Checkpoint));
    }
    return finish('complete', resumedAfter);
  } catch (error) {
    return finish(options.signal?.aborted ? 'aborted' : 'failed', resumedAfter, error);
  }
}

/**
 * Waits until the next chunk may run (time windows, a latency probe of both
 * stores, replica lag), backing off up to 5 s between checks. Resolves false
 * when aborted meanwhile.
 */
async function waitForPace<K extends Key, E extends object>(source: Store<K, E>, target: Store<K, E>, options: BackfillOptions<E>, probeKey: K | undefined, throttle: Throttle): Promise<boolean> {
  if (!options.windows && options.latencyBudgetMs === undefined && !options.replicaLag) return true;
  const probe = async (): Promise<number> => {
    if (probeKey === undefined) return 0;
    const t0 = Date.now();
    await Promise.all([source.get(probeKey, { signal: options.signal }), target.get(probeKey, { signal: options.signal })]);
    return Date.now() - t0;
  };
  for (let backoff = 100; ; backoff = Math.min(backoff * 2, 5000)) {
    if (options.signal?.aborted) return false;
    const reason = await paceCheck(options, probe);
    if (!reason) return true;
    if (reason === 'latency') throttle.shrink();
    options.onWait?.(reason);
    await sleep(reason === 'window' ? 30_000 : backoff, options.signal);
  }
}

async function readControl(control: ControlStore, migration: string, name: string): Promise<BackfillControl> {
  const raw = await control.loadCheckpoint(migration, backfillControlName(name));
  return raw ? (JSON.parse(raw) as BackfillControl) : {};
}

async function firstPage<K extends Key, E extends object>(store: Store<K, E>, after: K | undefined, size: number, signal?: AbortSignal, through?: K): Promise<E[]> {
  for await (const chunk of store.scan({ after, through, chunkSize: size, signal })) return chunk;
  return [];
}

function add(counts: { inserted: number; updated: number; skippedExisting: number; skippedTombstoned: number }, r: BulkWriteResult): void {
  counts.inserted += r.inserted;
  counts.updated += r.updated;
  counts.skippedExisting += r.skippedExisting;
  counts.skippedTombstoned += r.skippedTombstoned;
}

/**
 * Transforms and writes one chunk. A row that fails (its transform throws, or
 * it cannot be encoded) goes to the dead letters with its key and error code;
 * with `onRowError: 'stop'` the run stops there instead. Resolves the error
 * that stopped the run, if one did.
 */
async function copyChunk<K extends Key, E extends object>(page: readonly E[], ctx: ChunkContext<K, E>): Promise<unknown> {
  const { migration, source, target, control, options, counts } = ctx;
  const dead: { keyId: string; reason: string }[] = [];
  let rows: E[] = [];
  for (const entity of page) {
    try {
      rows.push(options.transform ? await options.transform(entity) : entity);
    } catch (error) {
      if (options.onRowError === 'stop') return new MidairError('ENCODING', `the transform failed for key ${keyId(source.keyOf(entity))}`, { cause: error });
      dead.push({ keyId: keyId(source.keyOf(entity)), reason: 'TRANSFORM' });
    }
  }
  if (options.missingOnly && rows.length > 0) {
    const present = await target.getMany(rows.map((e) => target.keyOf(e)), { signal: options.signal });
    rows = rows.filter((_, i) => present[i] === undefined);
  }
  try {
    if (rows.length > 0) add(counts, await target.writeIfNewer(rows, { signal: options.signal }));
  } catch (error) {
    if (!isRowError(error)) throw error;
    // One bad row fails the whole statement: write them one by one to find it.
    for (const e of rows) {
      try {
        add(counts, await target.writeIfNewer([e], { signal: options.signal }));
      } catch (rowError) {
        if (!isRowError(rowError)) throw rowError;
        if (options.onRowError === 'stop') return rowError;
        dead.push({ keyId: keyId(target.keyOf(e)), reason: rowError.code });
      }
    }
  }
  if (dead.length > 0) {
    await control.addDeadLetters(migration, dead);
    counts.deadLetters += dead.length;
  }
  return undefined;
}

/** The prune pass: keys new holds and old does not are deleted in new (under new's key locks, old read again). */
async function pruneChunk<K extends Key, E extends object>(page: readonly E[], source: Store<K, E>, target: Store<K, E>, options: BackfillOptions<E>, counts: Counts): Promise<void> {
  const keys = page.map((e) => target.keyOf(e));
  const present = await source.getMany(keys, { signal: options.signal });
  const orphans = keys.filter((_, i) => present[i] === undefined);
  if (orphans.length === 0) return;
  const r = await target.syncMany(
    orphans,
    async (ks) => {
      const now = await source.getMany(ks, { signal: options.signal });
      return now.map((v) => (v === undefined ? undefined : null)); // re-created meanwhile: its own sync copies it
    },
    { signal: options.signal },
  );
  counts.deleted += r.deleted;
}

/**
 * The copy pass with several workers: the key space split at sampled real
 * keys into ranges `(lo, hi]`, each leased through the control store. A
 * worker renews its lease (and records its progress) after every chunk; one
 * that loses its lease — it stalled past it and another took over — leaves
 * the range to the new holder, whose chunks are idempotent with its own.
 */
async function copyInRanges<K extends Key, E extends object>(
  migration: string,
  name: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: BackfillOptions<E>,
  counts: Counts & { chunks: number; rowsRead: number },
  sync: boolean,
  progress: (rate: number, chunkSize: number) => void,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown }> {
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const leaseMs = options.leaseMs ?? 30_000;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  if ((await control.ranges(migration, name)).length === 0) {
    const sample = await source.sampleKeys(Math.max(1, (options.ranges ?? workers * 4) - 1), { signal: options.signal });
    const bounds = [...new Set(sample.map((k) => keyId(k)))];
    const ranges = [...bounds.map((hi, i) => ({ lo: bounds[i - 1], hi })), { lo: bounds.at(-1) }];
    await control.createRanges(migration, name, ranges); // false: another process created them first
  }
  const outcome: { stopped?: unknown } = {};
  const worker = async (w: number): Promise<void> => {
    const throttle = new Throttle({ ...options, maxRowsPerSecond: options.maxRowsPerSecond === undefined ? undefined : options.maxRowsPerSecond / workers });
    for (;;) {
      if (options.signal?.aborted || outcome.stopped) return;
      const lease = await control.claimRange(migration, name, `${owner}#${w}`, leaseMs);
      if (!lease) {
        if ((await control.ranges(migration, name)).every((r) => r.complete)) return;
        await sleep(Math.min(leaseMs / 4, 500), options.signal); // others hold the rest; a dead one's lease runs out
        continue;
      }
      let after = (lease.after ?? lease.lo) === undefined ? undefined : (parseKeyId((lease.after ?? lease.lo) as string) as K);
      const through = lease.hi === undefined ? undefined : (parseKeyId(lease.hi) as K);
      for (;;) {
        if (options.signal?.aborted || outcome.stopped) return;
        const settings = await readControl(control, migration, name);
        if (settings.maxRowsPerSecond !== undefined) throttle.maxRowsPerSecond = settings.maxRowsPerSecond / workers;
        if (settings.paused) {
          if (!(await control.renewRange(migration, name, lease.rangeId, lease.token, leaseMs))) break;
          await sleep(200, options.signal);
          continue;
        }
        if (!(await waitForPace(source, target, options, after, throttle))) return;
        const t0 = Date.now();
        const size = throttle.chunkSize;
        const page = await firstPage(source, after, size, options.signal, through);
        if (page.length > 0) {
          counts.chunks++;
          counts.rowsRead += page.length;
          const ctx = { migration, source, target, control, options, counts };
          const stopped = sync ? await syncChunk(page, ctx) : await copyChunk(page, ctx);
          if (stopped) {
            outcome.stopped = stopped;
            return;
          }
          after = source.keyOf(page[page.length - 1] as E);
        }
        if (page.length < size) {
          await control.completeRange(migration, name, lease.rangeId, lease.token);
          break;
        }
        if (!(await control.renewRange(migration, name, lease.rangeId, lease.token, leaseMs, keyId(after as K)))) break; // taken over
        const wait = throttle.record(page.length, Date.now() - t0);
        progress((throttle.rate ?? 0) * workers, throttle.chunkSize);
        if (wait > 0) await sleep(wait, options.signal);
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  if (outcome.stopped) return { status: 'stopped', error: outcome.stopped };
  if (options.signal?.aborted) return { status: 'aborted' };
  return { status: 'complete' };
}

/** What every chunk of one run shares. */
interface ChunkContext<K extends Key, E extends object> {
  readonly migration: string;
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  readonly control: ControlStore;
  readonly options: BackfillOptions<E>;
  readonly counts: Counts;
}

/** Failures that belong to one row (its values), not to the run: they go to the dead letters. */
const ROW_ERRORS: ReadonlySet<string> = new Set(['ENCODING', 'INVALID_VALUE', 'CONSTRAINT', 'UNIQUE_VIOLATION']);
const isRowError = (error: unknown): error is MidairError => error instanceof MidairError && ROW_ERRORS.has(error.code);

type Counts = { inserted: number; updated: number; deleted: number; skippedExisting: number; skippedTombstoned: number; deadLetters: number };

/**
 * Sync mode: the chunk's keys are read again from old under new's key locks
 * and written as read, so a row new got earlier (from a neighbour instance
 * that was still one phase behind, or a previous attempt) is overwritten with
 * old's current value. A row whose transform throws, or that cannot be
 * stored, is left alone and goes to the dead letters.
 */
async function syncChunk<K extends Key, E extends object>(page: readonly E[], ctx: ChunkContext<K, E>): Promise<unknown> {
  const { migration, source, target, control, options, counts } = ctx;
  const dead = new Map<string, string>();
  let stop: unknown;
  const read = (only?: ReadonlySet<string>) => async (keys: readonly K[]): Promise<(E | undefined | null)[]> => {
    const values = await source.getMany(keys, { signal: options.signal });
    return Promise.all(
      values.map(async (value, i): Promise<E | undefined | null> => {
        const id = keyId(keys[i] as K);
        if ((only && !only.has(id)) || dead.has(id)) return null;
        if (value === undefined || !options.transform) return value;
        try {
          return await options.transform(value);
        } catch (error) {
          if (options.onRowError === 'stop') stop ??= new MidairError('ENCODING', `the transform failed for key ${id}`, { cause: error });
          dead.set(id, 'TRANSFORM');
          return null;
        }
      }),
    );
  };
  const keys = page.map((e) => source.keyOf(e));
  const tally = (r: { inserted: number; updated: number; deleted: number }): void => {
    counts.inserted += r.inserted;
    counts.updated += r.updated;
    counts.deleted += r.deleted;
  };
  try {
    tally(await target.syncMany(keys, read(), { signal: options.signal }));
  } catch (error) {
    if (!isRowError(error)) throw error;
    // One bad row fails the whole chunk: sync the keys one by one to find it.
    for (const key of keys) {
      const id = keyId(key);
      if (dead.has(id)) continue;
      try {
        tally(await target.syncMany([key], read(new Set([id])), { signal: options.signal }));
      } catch (rowError) {
        if (!isRowError(rowError)) throw rowError;
        if (options.onRowError === 'stop') return rowError;
        dead.set(id, rowError.code);
      }
    }
  }
  if (stop) return stop;
  if (dead.size > 0) {
    await control.addDeadLetters(migration, [...dead].map(([keyId, reason]) => ({ keyId, reason })));
    counts.deadLetters += dead.size;
  }
  return undefined;
}

/** Copies the dead letters' keys again (after the code that failed them is fixed); removes the ones that now copy. */
export async function retryDeadLetters<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: Pick<BackfillOptions<E>, 'transform' | 'signal'> = {},
): Promise<{ retried: number; copied: number; stillFailing: number }> {
  let retried = 0;
  let copied = 0;
  const failing = new Set<string>();
  for (;;) {
    const letters = (await control.deadLetters(migration, 500)).filter((d) => !failing.has(d.keyId));
    if (letters.length === 0) break;
    const keys = letters.map((d) => parseKeyId(d.keyId) as K);
    const entities = await source.getMany(keys, { signal: options.signal });
    const done: string[] = [];
    for (let i = 0; i < letters.length; i++) {
      const id = (letters[i] as { keyId: string }).keyId;
      retried++;
      const entity = entities[i];
      try {
        if (entity !== undefined) await target.writeIfNewer([options.transform ? await options.transform(entity) : entity], { signal: options.signal });
        done.push(id);
        if (entity !== undefined) copied++;
      } catch (error) {
        failing.add(id);
        await control.addDeadLetters(migration, [{ keyId: id, reason: error instanceof MidairError ? error.code : 'TRANSFORM' }]);
      }
    }
    await control.removeDeadLetters(migration, done);
  }
  return { retried, copied, stillFailing: failing.size };
}
