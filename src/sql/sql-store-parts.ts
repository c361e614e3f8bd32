import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import type { Version } from '../core/versions.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { SqlDialect } from './sql-dialect.js';
import type { SqlDriver } from './sql-driver.js';
import { FENCE_TABLE_SUFFIX, SqlFences } from './sql-fence.js';
import { PROBE_TABLE_SUFFIX, SqlCommitProbe } from './sql-probe.js';
import { RowCodec } from './sql-row-codec.js';
import { SqlRunner } from './sql-transaction.js';
import { StoreSql } from './store-sql.js';
import { StoreWriteSql } from './store-write-sql.js';

export interface SqlStoreOptions {
  /** A name for messages and metrics; default `<dialect>:<primary table>`. */
  readonly name?: string;
  /** Attempts for a write aborted by a deadlock before the error reaches the caller. Default 8. */
  readonly deadlockRetries?: number;
  /**
   * How many transactions one bulk write (`writeIfNewer`, or a same-engine
   * backfill chunk through `syncManyFrom`) runs at once over its disjoint
   * batches of keys, so reading the source and writing here overlap. Each
   * holds one connection (a same-engine copy from another pool also takes
   * one of that pool per transaction). `syncMany` runs one at a time.
   * Default 2.
   */
  readonly bulkConcurrency?: number;
  /**
   * Where this store's connection URL came from (a config field such as
   * `migrations.users.old.url`): connection failures' messages start with it.
   * Never the URL itself, which may hold a password.
   */
  readonly source?: string;
}

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
  /** The probe table's bare name, and the commit probe over it. */
  readonly probeTable: string;
  readonly probe: SqlCommitProbe;
  /** Throws CLOSED once the store is closed, and ABORTED once the caller gave up. */
  readonly open: (operation: string, options?: CallOptions) => void;
}

/** The store's own members its pieces need. */
export interface StoreIdentity<K extends Key, E extends object> {
  readonly name: string;
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  readonly open: (operation: string, options?: CallOptions) => void;
}

/** Builds the shared parts once: the runner (with hints naming midair's own tables), the statements, the codec, the fences. */
export function storeParts<K extends Key, E extends object>(
  dialect: SqlDialect,
  driver: SqlDriver,
  mapping: SqlMapping<E>,
  options: SqlStoreOptions,
  own: StoreIdentity<K, E>,
): StoreParts<K, E> {
  const { name, keyOf, versionOf, open } = own;
  const c = dialect.compiler;
  const fenceTable = `${mapping.tables[0].table}${FENCE_TABLE_SUFFIX}`;
  const probeTable = `${mapping.tables[0].table}${PROBE_TABLE_SUFFIX}`;
  const tableHint = (table: string | undefined): string =>
    table === mapping.tombstone.table
      ? "; run store.setup() to create midair's tombstone table"
      : table === fenceTable
        ? "; run store.setup() to create midair's fence table"
        : table === probeTable
          ? "; run store.setup() to create midair's probe table (a backfill's pacing then times commits)"
          : '';
  const runner = new SqlRunner(driver, {
    name,
    engine: dialect.name,
    source: options.source,
    classify: (err) => dialect.classifyError(err),
    hint: (_code, details) => tableHint(details.table),
    deadlockRetries: options.deadlockRetries,
  });
  const sql = new StoreSql(c, mapping as SqlMapping<object>);
  return {
    name,
    mapping,
    dialect,
    runner,
    sql,
    writeSql: new StoreWriteSql(sql, mapping as SqlMapping<object>),
    codec: new RowCodec<K, E>(mapping, dialect.name, name, keyOf, versionOf),
    keyOf,
    fenceTable,
    fences: new SqlFences(c, c.qualify(fenceTable, mapping.tombstone.schema), name),
    probeTable,
    probe: new SqlCommitProbe(dialect, runner, c.qualify(probeTable, mapping.tombstone.schema), open),
    open,
  };
}
