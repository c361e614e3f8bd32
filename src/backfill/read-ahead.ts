import { keyId, type Key } from '../core/keys.js';
import type { Store, SyncManyResult } from '../core/store.js';
import { firstKeys, firstPage } from '../jobs/steps.js';
import type { BackfillOptions } from './backfill-options.js';
import type { Fence } from '../core/store.js';
import { writeCall } from './write-call.js';

/** What a chunk's read needs of its run. */
interface ReadContext<K extends Key, E extends object> {
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  readonly options: BackfillOptions<E>;
  readonly lease?: Fence | undefined;
  readonly readAhead?: ReadAhead<K, E> | undefined;
}

/** What a sync-mode chunk read of old: its keys and, read ahead, their rows (decision 0017). */
export interface ChunkRead<K extends Key, E extends object> {
  readonly keys: readonly K[];
  /** Same engine and shape: the rows read by range, and the sync that takes them where new holds nothing. */
  readonly ranged?: { readonly keys: readonly K[]; sync(): Promise<SyncManyResult> } | undefined;
  /** Elsewhere: old's entities read by range, by key id. */
  readonly early?: ReadonlyMap<string, E> | undefined;
}

/**
 * How a run's sync-mode chunks read old, carried from chunk to chunk (one per
 * worker): whether the next chunk reads rows ahead (`rows`), and the next
 * chunk's read, started while this chunk is written (`next`).
 */
export interface ReadAhead<K extends Key, E extends object> {
  rows: boolean;
  next?: { readonly at: string; readonly size: number; readonly read: Promise<ChunkRead<K, E>> } | undefined;
}

/** A fresh read-ahead state: rows read ahead, nothing started. */
export function readAheadState<K extends Key, E extends object>(): ReadAhead<K, E> {
  return { rows: true };
}

const NO_KEY = '';

/**
 * Reads a sync-mode chunk of old after `after`: with its rows, by range,
 * while read ahead is on (same engine and shape: as the database prints
 * them; else as entities), else its keys alone. Where the chunk came back
 * full, the next one's read starts at once and runs while this one is
 * written: a read ahead of old is used only where new holds nothing under
 * its lock (decision 0017), so how long ago it ran does not matter.
 */
export async function readChunk<K extends Key, E extends object>(
  ctx: ReadContext<K, E>,
  after: K | undefined,
  size: number,
  through: K | undefined,
): Promise<ChunkRead<K, E>> {
  const state = ctx.readAhead;
  const at = after === undefined ? NO_KEY : keyId(after);
  const started = state?.next;
  if (state) state.next = undefined;
  const read =
    started && started.at === at && started.size === size && state?.rows === true
      ? await started.read
      : await readNow(ctx, after, size, through);
  const last = read.keys[read.keys.length - 1];
  if (state?.rows === true && last !== undefined && read.keys.length === size && (read.ranged || read.early)) {
    const next = readNow(ctx, last, size, through);
    next.catch(() => undefined); // a run that stops first never reads it; its failure surfaces when it is used
    state.next = { at: keyId(last), size, read: next };
  }
  return read;
}

async function readNow<K extends Key, E extends object>(
  ctx: ReadContext<K, E>,
  after: K | undefined,
  size: number,
  through: K | undefined,
): Promise<ChunkRead<K, E>> {
  const { source, target, options } = ctx;
  const ahead = ctx.readAhead?.rows === true;
  // Same engine and shape, no transform: old's keys and rows in one range read, where the stores can.
  const ranged =
    options.transform || !ahead
      ? undefined
      : await target.bulkCopy?.rangeFrom?.(source, { after, through, size }, writeCall(ctx));
  if (ranged) return { keys: ranged.keys, ranged };
  if (!ahead) return { keys: await firstKeys(source, after, size, options.signal, through) };
  // Else old's rows read ahead by range (then only the keys new holds are read again, under its locks).
  const page = await firstPage(source, after, size, options.signal, through);
  return { keys: page.map((e) => source.keyOf(e)), early: new Map(page.map((e) => [keyId(source.keyOf(e)), e])) };
}

/**
 * Old's current values of `keys`, read under new's locks: where new said
 * which keys it holds (`held`) and old's rows were read ahead (`early`), a
 * key new holds neither a row nor a tombstone of takes the row read ahead
 * (decision 0017); every other key is read again.
 */
export async function readUnder<K extends Key, E extends object>(
  source: Store<K, E>,
  keys: readonly K[],
  held: ReadonlySet<string> | undefined,
  early: ReadonlyMap<string, E> | undefined,
  signal: AbortSignal | undefined,
): Promise<(E | undefined)[]> {
  if (!held || !early) return source.getMany(keys, { signal });
  const again = keys.filter((k) => held.has(keyId(k)) || !early.has(keyId(k)));
  const reread = again.length > 0 ? await source.getMany(again, { signal }) : [];
  const now = new Map(again.map((k, i) => [keyId(k), reread[i]]));
  return keys.map((k) => {
    const id = keyId(k);
    return now.has(id) ? now.get(id) : early.get(id);
  });
}
