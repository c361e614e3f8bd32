import type { ControlStore } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import type { BackfillOptions } from './backfill-options.js';
import { MidairError } from '../core/errors.js';
import { copyNext, type Counts } from './chunks.js';
import { phaseRefusal } from './guards.js';
import { runLeasedRanges } from '../jobs/leased-ranges.js';
import { waitForPace, workerThrottles } from '../jobs/steps.js';
import { sleep } from '../core/sleep.js';
import type { Throttle } from '../jobs/throttle.js';

/**
 * The copy pass with several workers over leased ranges (leased-ranges.ts):
 * each step copies one chunk of its range; chunks are idempotent, so a range
 * taken over from a stalled worker is simply copied on from its progress.
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
  const { throttles, paused } = workerThrottles(control, migration, name, workers, options);
  return runLeasedRanges<K>({
    migration,
    name,
    control,
    keySource: source,
    workers,
    ranges: options.ranges ?? workers * 4,
    leaseMs: options.leaseMs ?? 30_000,
    owner: options.owner,
    signal: options.signal,
    paused,
    step: async (w, _lease, after, through) => {
      const throttle = throttles[w] as Throttle;
      // The phase may have moved on while the run went: a chunk never runs where the run could not start.
      const moved = await phaseRefusal(control, migration, options.missingOnly ? 'sweep' : 'backfill');
      if (moved)
        return {
          stop: new MidairError(
            'BLOCKED',
            `the phase changed while the ${options.missingOnly ? 'sweep' : 'backfill'} ran: ${moved.message}`,
          ),
        };
      if (!(await waitForPace(source, target, options, after, throttle))) return { after, done: false };
      const t0 = Date.now();
      const size = throttle.chunkSize;
      const {
        read,
        last: next,
        stopped,
      } = await copyNext({ migration, source, target, control, options, counts }, sync, after, size, through);
      if (read > 0) {
        counts.chunks++;
        counts.rowsRead += read;
      }
      if (stopped) return { stop: stopped };
      if (read < size) return { after: next, done: true };
      const wait = throttle.record(read, Date.now() - t0);
      progress((throttle.rate ?? 0) * workers, throttle.chunkSize);
      if (wait > 0) await sleep(wait, options.signal);
      return { after: next, done: false };
    },
  });
}
