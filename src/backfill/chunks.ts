import type { ControlStore } from '../control/control-store.js';
import { MidairError, PartialSyncError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { BulkWriteResult, Fence, Store, SyncManyResult } from '../core/store.js';
import { writeCall } from './write-call.js';
import { orphansOf, pendingEitherWay } from './guards.js';
import { firstPage } from '../jobs/steps.js';
import type { BackfillOptions } from './backfill-options.js';
import { orphansInRange } from './orphan-watch.js';
import { readChunk, readUnder, type ReadAhead } from './read-ahead.js';

/** What every chunk of one run shares. */
export interface ChunkContext<K extends Key, E extends object> {
  readonly migration: string;
  readonly source: Store<K, E>;
  readonly target: Store<K, E>;
  readonly control: ControlStore;
  readonly options: BackfillOptions<E>;
  readonly counts: Counts;
  /**
   * Whether a sync-mode chunk reads old's rows with its keys, before new's
   * locks (one range read; a key new turns out to hold is read again under
   * its lock), or its keys alone. Read ahead while most keys of a chunk are
   * new to new (a first backfill); keys alone once most are not (a re-run).
   */
  readonly readAhead?: ReadAhead<K, E>;
  /** The lease of the range the chunk belongs to, as its fence (parallel and queued runs): checked where each write lands. */
  readonly lease?: Fence | undefined;
}

/** Failures that belong to one row (its values), not to the run: they go to the dead letters. */
const ROW_ERRORS: ReadonlySet<string> = new Set(['ENCODING', 'INVALID_VALUE', 'CONSTRAINT', 'UNIQUE_VIOLATION']);
const isRowError = (error: unknown): error is MidairError => error instanceof MidairError && ROW_ERRORS.has(error.code);

/** A dead letter's reason: the error code and, where the error names it, the field (or column) — never the value. */
export function deadLetterReason(error: MidairError): string {
  const where = error.details.field ?? error.details.column;
  return where === undefined ? error.code : `${error.code}:${where}`;
}

export type Counts = {
  inserted: number;
  updated: number;
  deleted: number;
  skippedExisting: number;
  skippedTombstoned: number;
  deadLetters: number;
};

function add(
  counts: { inserted: number; updated: number; skippedExisting: number; skippedTombstoned: number },
  r: BulkWriteResult,
): void {
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
export async function copyChunk<K extends Key, E extends object>(
  page: readonly E[],
  ctx: ChunkContext<K, E>,
): Promise<unknown> {
  const { migration, source, target, control, options, counts } = ctx;
  const dead: { keyId: string; reason: string }[] = [];
  let rows: E[] = [];
  for (const entity of page) {
    try {
      rows.push(options.transform ? await options.transform(entity) : entity);
    } catch (error) {
      if (options.onRowError === 'stop')
        return new MidairError('ENCODING', `the transform failed for key ${keyId(source.keyOf(entity))}`, {
          cause: error,
        });
      dead.push({ keyId: keyId(source.keyOf(entity)), reason: 'TRANSFORM' });
    }
  }
  if (options.missingOnly && rows.length > 0) {
    const present = await target.getMany(
      rows.map((e) => target.keyOf(e)),
      { signal: options.signal },
    );
    rows = rows.filter((_, i) => present[i] === undefined);
    if (options.tombstonesWin && rows.length > 0) {
      const deleted = await Promise.all(
        rows.map(async (e) => (await target.getTombstone(target.keyOf(e), { signal: options.signal })) !== undefined),
      );
      rows = rows.filter((_, i) => !deleted[i]);
    }
  }
  try {
    if (rows.length > 0) add(counts, await target.writeIfNewer(rows, writeCall(ctx)));
  } catch (error) {
    if (!isRowError(error)) throw error;
    // One bad row fails the whole statement: write them one by one to find it.
    for (const e of rows) {
      try {
        add(counts, await target.writeIfNewer([e], writeCall(ctx)));
      } catch (rowError) {
        if (!isRowError(rowError)) throw rowError;
        if (options.onRowError === 'stop') return rowError;
        dead.push({ keyId: keyId(target.keyOf(e)), reason: deadLetterReason(rowError) });
      }
    }
  }
  if (dead.length > 0) {
    await control.addDeadLetters(migration, dead);
    counts.deadLetters += dead.length;
  }
  return undefined;
}

/**
 * The prune pass: keys new holds and old does not are deleted in new (under
 * new's key locks, old read again) — except keys with a repair pending in
 * either direction, which the repairer settles from the authoritative store.
 */
export async function pruneChunk<K extends Key, E extends object>(
  keys: readonly K[],
  ctx: Omit<ChunkContext<K, E>, 'counts'> & { readonly counts: Counts },
): Promise<void> {
  const { migration, source, target, control, options, counts } = ctx;
  const orphans = await orphansOf(keys, source, control, migration, options.signal);
  if (orphans.length === 0) return;
  const r = await target.syncMany(
    orphans,
    async (ks) => {
      const now = await source.getMany(ks, { signal: options.signal });
      const pending = await pendingEitherWay(
        control,
        migration,
        ks.map((k) => keyId(k)),
      );
      // Re-created meanwhile (its own sync copies it), or a repair queued since: leave it alone.
      return now.map((v, i) => (v === undefined && !pending.has(keyId(ks[i] as K)) ? undefined : null));
    },
    writeCall(ctx),
  );
  counts.deleted += r.deleted;
}

/**
 * Sync mode: the chunk's keys are read again from old under new's key locks
 * and written as read, so a row new got earlier (from a neighbour instance
 * that was still one phase behind, or a previous attempt) is overwritten with
 * old's current value. A row whose transform throws, or that cannot be
 * stored, is left alone and goes to the dead letters.
 */
export async function syncChunk<K extends Key, E extends object>(
  keys: readonly K[],
  ctx: ChunkContext<K, E>,
  ranged?: () => Promise<SyncManyResult>,
  early?: ReadonlyMap<string, E>,
): Promise<unknown> {
  const { migration, source, target, control, options, counts } = ctx;
  const dead = new Map<string, string>();
  let stop: unknown;
  const read =
    (only?: ReadonlySet<string>) =>
    async (keys: readonly K[], held?: ReadonlySet<string>): Promise<(E | undefined | null)[]> => {
      const values = await readUnder(source, keys, held, early, options.signal);
      return Promise.all(
        values.map(async (value, i): Promise<E | undefined | null> => {
          const id = keyId(keys[i] as K);
          if ((only && !only.has(id)) || dead.has(id)) return null;
          if (value === undefined || !options.transform) return value;
          try {
            return await options.transform(value);
          } catch (error) {
            if (options.onRowError === 'stop')
              stop ??= new MidairError('ENCODING', `the transform failed for key ${id}`, { cause: error });
            dead.set(id, 'TRANSFORM');
            return null;
          }
        }),
      );
    };
  const tally = (r: { inserted: number; updated: number; deleted: number }): void => {
    counts.inserted += r.inserted;
    counts.updated += r.updated;
    counts.deleted += r.deleted;
  };
  try {
    // Same engine and shape, no transform: rows go across as the database prints them.
    const direct = options.transform
      ? undefined
      : ranged
        ? await ranged()
        : await target.bulkCopy?.syncManyFrom(keys, source, writeCall(ctx));
    tally(direct ?? (await target.syncMany(keys, read(), { ...writeCall(ctx), readFrom: source })));
  } catch (error) {
    if (!isRowError(error)) throw error;
    // One bad row fails its batch: sync that batch's keys one by one to find it (batches that committed stay counted).
    let retry = keys;
    if (error instanceof PartialSyncError) {
      tally(error.done);
      const left = new Set(error.notDone);
      retry = keys.filter((k) => left.has(keyId(k)));
    }
    for (const key of retry) {
      const id = keyId(key);
      if (dead.has(id)) continue;
      try {
        tally(await target.syncMany([key], read(new Set([id])), writeCall(ctx)));
      } catch (rowError) {
        if (!isRowError(rowError)) throw rowError;
        if (options.onRowError === 'stop') return rowError;
        dead.set(id, deadLetterReason(rowError));
      }
    }
  }
  if (stop) return stop;
  if (dead.size > 0) {
    await control.addDeadLetters(
      migration,
      [...dead].map(([keyId, reason]) => ({ keyId, reason })),
    );
    counts.deadLetters += dead.size;
  }
  return undefined;
}

/**
 * Reads the copy pass's next chunk after `after` (keys only in sync mode:
 * the values are read under new's locks) and copies it. Resolves how many
 * keys it read, the last of them, and the error that stopped the run, if one did.
 * With `watch` (sync mode), also how many keys new holds in the chunk's range
 * that the chunk did not read (`orphans`, see orphan-watch.ts).
 */
export async function copyNext<K extends Key, E extends object>(
  ctx: ChunkContext<K, E>,
  sync: boolean,
  after: K | undefined,
  size: number,
  through?: K,
  watch = false,
): Promise<{ read: number; last: K | undefined; stopped?: unknown; orphans?: number | undefined }> {
  const { source, target, options } = ctx;
  if (sync) {
    const { keys, ranged, early } = await readChunk(ctx, after, size, through);
    if (keys.length === 0) return { read: 0, last: after };
    const before = { written: ctx.counts.inserted + ctx.counts.updated, updated: ctx.counts.updated };
    const stopped = await syncChunk(keys, ctx, ranged && (() => ranged.sync()), early);
    if (ctx.readAhead) {
      // Most keys new to new: read ahead next time too; most held already: keys alone (their rows are read under the locks).
      const written = ctx.counts.inserted + ctx.counts.updated - before.written;
      ctx.readAhead.rows = written === 0 || (ctx.counts.updated - before.updated) * 2 <= written;
    }
    const orphans = watch && !stopped ? await orphansInRange(target, keys, after, options.signal) : undefined;
    return { read: keys.length, last: keys[keys.length - 1], stopped, orphans };
  }
  const page = await firstPage(source, after, size, options.signal, through);
  if (page.length === 0) return { read: 0, last: after };
  return { read: page.length, last: source.keyOf(page[page.length - 1] as E), stopped: await copyChunk(page, ctx) };
}
