import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { TableInfo } from './sql-catalog.js';
import type { SqlConnection } from './sql-driver.js';
import type { Prepared, RowCodec } from './sql-row-codec.js';
import type { StoreSql } from './store-sql.js';
import type { SqlRunner } from './sql-transaction.js';

/** One side of a same-engine copy: what an engine's copy may read of a store. */
export interface CopySide<K extends Key> {
  readonly name: string;
  readonly mapping: SqlMapping<object>;
  readonly sql: StoreSql;
  readonly codec: Pick<RowCodec<K, object>, 'decodeKey'>;
  readonly runner: SqlRunner;
  /** The primary table's live columns (`undefined`: it does not exist). */
  introspectPrimary(): Promise<TableInfo | undefined>;
}

/**
 * The source's current rows of a batch of keys, prepared for the target
 * (`undefined`: the source has none), read on the batch's connection `conn`
 * where both stores share it.
 */
export type CopyFetch<K> = (
  batch: readonly K[],
  conn: SqlConnection,
  /** The batch's keys the target holds a row or a tombstone of, read under their locks. */
  held?: ReadonlySet<string>,
) => Promise<readonly (Prepared<K> | undefined | null)[]>;

/**
 * An engine's way to copy rows between two of its stores as the database
 * prints them, with no decoding and encoding in between (PostgreSQL only,
 * src/postgres/postgres-same-engine.ts).
 */
export interface SameEngineCopy {
  /** What two stores' mappings must agree on, fixed by the mapping; `undefined` where this mapping can never copy so. */
  rowFormat(mapping: SqlMapping<object>): string | undefined;
  /** How to fetch the source's rows for the target, decided per call; `undefined` when the two cannot. */
  plan<K extends Key>(
    target: CopySide<K>,
    source: CopySide<K>,
    options?: CallOptions,
  ): Promise<CopyFetch<K> | undefined>;
  /**
   * The source's next rows after `range.after` (up to `range.through`), at
   * most `range.size`, in key order, read in one statement without locks,
   * and how to fetch a batch of them under the target's locks: a key the
   * target holds neither a row nor a tombstone of takes the row read here,
   * any other is read again. `undefined` when the two cannot copy so.
   */
  planRange?<K extends Key>(
    target: CopySide<K>,
    source: CopySide<K>,
    range: { readonly after?: K | undefined; readonly through?: K | undefined; readonly size: number },
    options?: CallOptions,
  ): Promise<{ readonly keys: readonly K[]; readonly fetch: CopyFetch<K> } | undefined>;
}
