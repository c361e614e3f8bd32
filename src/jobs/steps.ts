import type { ControlStore } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import { scanKeysOf, type Store } from '../core/store.js';
import { CHECKPOINTS, loadCheckpoint, type BackfillControl } from '../control/checkpoints.js';
import { paceCheck, type PaceOptions, type PaceReason } from './pace.js';
import { Throttle, type ThrottleOptions } from './throttle.js';
import { sleep } from '../core/sleep.js';

/**
 * Waits until the next chunk may run (time windows, a latency probe of both
 * stores, replica lag), backing off up to 5 s between checks. Resolves false
 * when aborted meanwhile.
 */
export async function waitForPace<K extends Key, E extends object>(
  source: Store<K, E>,
  target: Store<K, E>,
  options: PaceOptions & {
    readonly signal?: AbortSignal | undefined;
    readonly onWait?: ((reason: PaceReason) => void) | undefined;
  },
  probeKey: K | undefined,
  throttle: Throttle,
): Promise<boolean> {
  if (!options.windows && options.latencyBudgetMs === undefined && !options.replicaLag) return true;
  const probe = async (): Promise<number> => {
    if (probeKey === undefined) return 0;
    const t0 = performance.now(); // sub-millisecond: a budget of 1 ms must be measurable
    await Promise.all([
      source.get(probeKey, { signal: options.signal }),
      target.get(probeKey, { signal: options.signal }),
    ]);
    return performance.now() - t0;
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

/** The operator's settings for the run `name` (pause, a rows/s ceiling); none saved, none set. */
export async function readControl(control: ControlStore, migration: string, name: string): Promise<BackfillControl> {
  return (await loadCheckpoint(control, migration, CHECKPOINTS.backfillControl(name))) ?? {};
}

export async function firstPage<K extends Key, E extends object>(
  store: Store<K, E>,
  after: K | undefined,
  size: number,
  signal?: AbortSignal,
  through?: K,
): Promise<E[]> {
  for await (const chunk of store.scan({ after, through, chunkSize: size, signal })) return chunk;
  return [];
}

/** {@link firstPage}, keys only (read key-only where the store can). */
export async function firstKeys<K extends Key, E extends object>(
  store: Store<K, E>,
  after: K | undefined,
  size: number,
  signal?: AbortSignal,
  through?: K,
): Promise<K[]> {
  for await (const chunk of scanKeysOf(store, { after, through, chunkSize: size, signal })) return chunk;
  return [];
}

/**
 * One throttle per worker, sharing a rows/s ceiling between them, and the
 * check leased-range runs make before each step: reads the operator's
 * settings (pause, a new ceiling) from the control store and applies them.
 */
export function workerThrottles(
  control: ControlStore,
  migration: string,
  name: string,
  workers: number,
  options: ThrottleOptions,
): { throttles: Throttle[]; paused: () => Promise<boolean> } {
  const share = (rate: number | undefined): number | undefined => (rate === undefined ? undefined : rate / workers);
  const throttles = Array.from(
    { length: workers },
    () => new Throttle({ ...options, maxRowsPerSecond: share(options.maxRowsPerSecond) }),
  );
  return {
    throttles,
    paused: async () => {
      const settings = await readControl(control, migration, name);
      if (settings.maxRowsPerSecond !== undefined)
        for (const t of throttles) t.maxRowsPerSecond = share(settings.maxRowsPerSecond);
      return settings.paused === true;
    },
  };
}
