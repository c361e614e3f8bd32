import type { Key } from '../core/keys.js';
import { firstKeys } from '../jobs/steps.js';
import { copyNext, pruneChunk, type ChunkContext, type Counts } from './chunks.js';

/**
 * The pass's next chunk after `after`, copied (or pruned) and counted:
 * how many keys it read, where the pass stands, and the error that stopped the run, if one did.
 */
export async function nextChunk<K extends Key, E extends object>(
  run: ChunkContext<K, E> & { readonly counts: Counts & { chunks: number; rowsRead: number } },
  sync: boolean,
  pass: 'copy' | 'prune',
  after: K | undefined,
  size: number,
  watch: boolean,
): Promise<{ read: number; after: K | undefined; stopped?: unknown; orphans?: number | undefined }> {
  const { migration, source, target, control, options, counts } = run;
  if (pass === 'copy') {
    const r = await copyNext(
      { migration, source, target, control, options, counts, readAhead: run.readAhead },
      sync,
      after,
      size,
      undefined,
      watch,
    );
    const read = r.read;
    if (read > 0) {
      counts.chunks++;
      counts.rowsRead += read;
    }
    if (r.stopped) return { read, after, stopped: r.stopped };
    return { read, after: r.last, orphans: r.orphans };
  }
  const keys = await firstKeys(target, after, size, options.signal);
  const read = keys.length;
  if (read > 0) {
    counts.chunks++;
    await pruneChunk(keys, { migration, source, target, control, options, counts });
  }
  return { read, after: keys.at(-1) ?? after };
}
