import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { SqlDialect } from './sql-dialect.js';
import type { SqlFences } from './sql-fence.js';
import type { RowCodec } from './sql-row-codec.js';
import type { SqlRunner } from './sql-transaction.js';
import type { StoreSql } from './store-sql.js';
import type { StoreWriteSql } from './store-write-sql.js';

/** What the pieces of one SQL store share (the facade, src/sql/sql-store.ts, builds it once). */
export interface StoreParts<K extends Key, E extends object> {
  readonly name: string;
  readonly mapping: SqlMapping<E>;
  readonly dialect: SqlDialect;
  readonly runner: SqlRunner;
  readonly sql: StoreSql;
  readonly writeSql: StoreWriteSql;
  readonly codec: RowCodec<K, E>;
  readonly keyOf: (entity: E) => K;
  /** The fence table's bare name, and its statements. */
  readonly fenceTable: string;
  readonly fences: SqlFences;
  /** Throws CLOSED once the store is closed, and ABORTED once the caller gave up. */
  readonly open: (operation: string, options?: CallOptions) => void;
}
