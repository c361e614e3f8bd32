import { decideWrite } from '../core/entity.js';
import { MidairError, PartialSyncError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import { emptyBulkResult, type BulkWriteResult, type CallOptions, type SyncManyResult } from '../core/store.js';
import { chunked } from '../core/collections.js';
import type { SqlConnection } from './sql-driver.js';
import { addCounts, forEachLimit } from './sql-lanes.js';
import type { Prepared } from './sql-row-codec.js';
import type { StoreParts } from './sql-store-parts.js';
import type { CopyFetch } from './sql-same-engine.js';
import type { SqlWriteEngine } from './sql-write-engine.js';

/** The bulk writes: conditional writes of many entities, and syncs by many keys (several disjoint batches at once). */
export class SqlBulkWrites<K extends Key, E extends object> {
  readonly #p: StoreParts<K, E>;
  readonly #engine: SqlWriteEngine<K, E>;
  readonly #bulkConcurrency: number;

  constructor(parts: StoreParts<K, E>, engine: SqlWriteEngine<K, E>, bulkConcurrency: number) {
    this.#p = parts;
    this.#engine = engine;
    this.#bulkConcurrency = bulkConcurrency;
  }

  get bulkConcurrency(): number {
    return this.#bulkConcurrency;
  }

  /** Keys per transaction, so that the widest table's rows stay within the parameter limit. */
  #batchSize(): number {
    const widest = Math.max(...this.#p.mapping.tables.map((t) => t.fields.length));
    return this.#p.sql.batchRows(Math.ceil(widest / this.#p.sql.keyCols.length));
  }

  async writeIfNewer(entities: readonly E[], options?: CallOptions): Promise<BulkWriteResult> {
    this.#p.open('writeIfNewer', options);
    const result = emptyBulkResult();
    // Within one call, a key given twice keeps what writing them in order would keep.
    const latest = new Map<string, Prepared<K>>();
    for (const p of this.#p.codec.prepare(entities)) {
      const seen = latest.get(p.id);
      if (seen && decideWrite(p.version, { version: seen.version }, undefined) !== 'update') {
        result.skippedExisting++;
        continue;
      }
      if (seen) result.skippedExisting++;
      latest.set(p.id, p);
    }
    await forEachLimit(chunked([...latest.values()], this.#batchSize()), this.#bulkConcurrency, async (batch) => {
      addCounts(
        result,
        await this.#engine.write('writeIfNewer', options, async (conn) => this.#writeBatch(conn, batch)),
      );
    });
    return result;
  }

  async #writeBatch(conn: SqlConnection, batch: readonly Prepared<K>[]): Promise<BulkWriteResult> {
    const counts = emptyBulkResult();
    const { tombs, rows: existing } = await this.#engine.lockMany(
      conn,
      batch.map((p) => p.key),
    );
    const writes: Prepared<K>[] = [];
    const passedTombstones: K[] = [];
    for (const p of batch) {
      const decision = decideWrite(
        p.version,
        existing.has(p.id) ? { version: existing.get(p.id) } : undefined,
        tombs.has(p.id) ? { version: tombs.get(p.id) } : undefined,
      );
      if (decision === 'insert' || decision === 'update') {
        writes.push(p);
        if (tombs.has(p.id)) passedTombstones.push(p.key);
        counts[decision === 'insert' ? 'inserted' : 'updated']++;
      } else {
        counts[decision]++;
      }
    }
    if (passedTombstones.length > 0) await this.#engine.deleteTombstones(conn, passedTombstones);
    if (writes.length > 0)
      await this.#engine.upsert(
        conn,
        writes,
        writes.every((p) => !existing.has(p.id)),
      );
    return counts;
  }

  /**
   * The core of a sync by many keys: per batch of keys (several batches at
   * once), their locks, then `fetch` (the source's current rows, prepared:
   * `undefined` to delete, `null` to leave alone), then the writes.
   */
  async syncBatches(
    operation: string,
    keys: readonly K[],
    options: CallOptions | undefined,
    lanes: number,
    fetch: CopyFetch<K>,
  ): Promise<SyncManyResult> {
    this.#p.open(operation, options);
    const result = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
    const unique = [...new Map(keys.map((k) => [keyId(k), k])).values()];
    const notDone = new Set(unique.map((k) => keyId(k)));
    try {
      await forEachLimit(chunked(unique, this.#batchSize()), lanes, async (batch) => {
        addCounts(
          result,
          await this.#engine.write(operation, options, async (conn) => this.#syncBatch(conn, batch, fetch)),
        );
        for (const key of batch) notDone.delete(keyId(key));
      });
    } catch (error) {
      // Batches that committed stay written: say so, so a retry key by key redoes (and counts) only the rest.
      if (error instanceof MidairError && notDone.size < unique.length)
        throw new PartialSyncError(error, result, [...notDone]);
      throw error;
    }
    return result;
  }

  async #syncBatch(conn: SqlConnection, batch: readonly K[], fetch: CopyFetch<K>): Promise<SyncManyResult> {
    const counts = { inserted: 0, updated: 0, deleted: 0, unchanged: 0 };
    const { tombs, rows } = await this.#engine.lockMany(conn, batch);
    const held = new Set([...tombs.keys(), ...rows.keys()]);
    const values = await fetch(batch, conn, held);
    const puts: Prepared<K>[] = [];
    const gone: K[] = [];
    batch.forEach((key, i) => {
      const value = values[i];
      const id = keyId(key);
      if (value === null) counts.unchanged++;
      else if (value === undefined) {
        if (rows.has(id)) counts.deleted++;
        else counts.unchanged++;
        gone.push(key);
      } else {
        counts[rows.has(id) ? 'updated' : 'inserted']++;
        puts.push(value);
      }
    });
    const cleared = puts.filter((p) => tombs.has(p.id)).map((p) => p.key);
    if (cleared.length > 0) await this.#engine.deleteTombstones(conn, cleared);
    if (puts.length > 0)
      await this.#engine.upsert(
        conn,
        puts,
        puts.every((p) => !rows.has(p.id)),
      );
    for (const key of gone) {
      const id = keyId(key);
      await this.#engine.deleteLocked(
        conn,
        key,
        { tombVersion: tombs.get(id), rowVersion: rows.get(id) },
        { version: undefined },
      );
    }
    return counts;
  }
}
