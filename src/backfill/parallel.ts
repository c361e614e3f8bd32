import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ControlStore } from '../control/control-store.js';
import { keyId, parseKeyId, type Key } from '../keys.js';
import type { Store } from '../store.js';
import type { BackfillOptions } from './backfill-options.js';
import { copyChunk, syncChunk, type Counts } from './chunks.js';
import { firstPage, readControl, sleep, waitForPace } from './steps.js';
import { Throttle } from './throttle.js';

/**
 * The copy pass with several workers: the key space split at sampled real
 * keys into ranges `(lo, hi]`, each leased through the control store. A
 * worker renews its lease (and records its progress) after every chunk; one
 * that loses its lease — it stalled past it and another took over — leaves
 * the range to the new holder, whose chunks are idempotent with its own.
 */
export async function copyInRanges<K extends Key, E extends object>(
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
