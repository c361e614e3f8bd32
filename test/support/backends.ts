import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { memoryStore, type DialectName, type Key, type SqlMapping, type Store } from '../../src/index.js';
import { mysqlStore } from '../../src/mysql/index.js';
import { postgresStore } from '../../src/postgres/index.js';
import { sqliteStore } from '../../src/sqlite/index.js';
import { redisMappingFromSql, redisStore } from '../../src/redis/index.js';
import { SERVICE_LABELS, SERVICE_URLS, storeFilter } from './services.js';
import { withStatementLog, type StatementLog } from './statement-log.js';

/** The kinds that hold control stores too. */
export const BACKEND_KINDS = ['memory', 'sqlite', 'postgres', 'mysql'] as const;
/** Every store kind: the control-store kinds and Redis (a store only). */
export type BackendKind = (typeof BACKEND_KINDS)[number] | 'redis';

/** Session time zones the tests use, with their (fixed) offsets for servers without zone tables. */
export const ZONE_OFFSETS = {
  'Asia/Kolkata': '+05:30',
  'America/Los_Angeles': '-08:00',
  'Pacific/Chatham': '+12:45',
} as const;
export type Zone = keyof typeof ZONE_OFFSETS;

/** DDL written per dialect; the memory backend needs none. */
export type Ddl = Partial<Record<DialectName, string | readonly string[]>>;

/** One real database (or the memory store) with a private namespace for this test file. */
export interface Backend {
  readonly kind: BackendKind;
  readonly dialect: DialectName | undefined;
  /** A table name no other test in this run uses. */
  unique(base: string): string;
  ddl(statements: Ddl): Promise<void>;
  /** Runs a statement directly (not through midair) and returns rows as arrays. */
  raw(sql: string): Promise<unknown[][]>;
  store<K extends Key, E extends object>(mapping: SqlMapping<E>): Store<K, E>;
  /** A store whose connections use another session time zone. */
  storeInZone<K extends Key, E extends object>(mapping: SqlMapping<E>, zone: Zone): Store<K, E>;
  /** Redis: the client the stores use (to look at what they wrote). */
  readonly redis?: Redis;
  /** Redis: sets one hash field of an entity behind midair's back (as `raw` runs an UPDATE on SQL). */
  rawHashSet?(table: string, keyText: string, field: string, value: string): Promise<void>;
  /** A store on a pool of its own whose every statement is logged (servers only: SQLite and memory send none over a wire). */
  loggedStore?<K extends Key, E extends object>(mapping: SqlMapping<E>): { store: Store<K, E>; log: StatementLog };
  close(): Promise<void>;
}

/**
 * Whether the store checks a write's fence and applies it in one atomic step
 * (in process, or one Redis script): no write holds anything a raise waits
 * for, and a direct write takes no turn.
 */
export function appliesAtOnce(kind: BackendKind): boolean {
  return kind === 'memory' || kind === 'redis';
}

/** Whether the backend is a SQL database (tables, DDL, statements). */
export function isSql(kind: BackendKind): boolean {
  return kind === 'sqlite' || kind === 'postgres' || kind === 'mysql';
}

/** Deletes every Redis key whose name holds `ns` (a test run's namespace). */
export async function dropRedisKeys(client: Redis, ns: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `*${ns}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** {@link availability} of several servers at once: run only where all are reachable; the reason names each that is not. */
export function availabilityOfAll(...kinds: BackendKind[]): { run: boolean; reason: string } {
  const each = kinds.map((kind) => availability(kind));
  return {
    run: each.every((a) => a.run),
    reason: each
      .filter((a) => !a.run)
      .map((a) => a.reason)
      .join('; '),
  };
}

/** Whether a backend's suite runs here, and if not, why (printed as the skip reason). */
export function availability(kind: BackendKind): { run: boolean; reason: string } {
  const filter = storeFilter();
  if (filter && !filter.has(kind)) return { run: false, reason: `not in MIDAIR_STORES` };
  if (kind === 'postgres' || kind === 'mysql' || kind === 'redis') {
    const s = inject('services')[kind];
    if (!s.available) return { run: false, reason: `${SERVICE_LABELS[kind]} unreachable at ${SERVICE_URLS[kind]}` };
  }
  return { run: true, reason: '' };
}

function namespace(): string {
  return `midair_${inject('runId')}_${Math.floor(Math.random() * 1e9).toString(36)}`;
}

function list(s: string | readonly string[] | undefined): readonly string[] {
  return s === undefined ? [] : typeof s === 'string' ? [s] : s;
}

/**
 * Opens each backend before the suite's tests and closes it after them (call
 * it inside a `describe`); the tests read them from the returned record.
 */
export function suiteBackends<T extends BackendKind>(...kinds: T[]): Record<T, Backend> {
  const opened = {} as Record<T, Backend>;
  beforeAll(async () => {
    for (const kind of kinds) opened[kind] = await openBackend(kind);
  });
  afterAll(async () => {
    for (const kind of kinds) await (opened[kind] as Backend | undefined)?.close();
  });
  return opened;
}

export async function openBackend(kind: BackendKind): Promise<Backend> {
  let n = 0;
  const unique = (base: string): string => `${base}_${++n}`;
  switch (kind) {
    case 'memory': {
      // One store per table name, as a database would have one table.
      const stores = new Map<string, Store<Key, object>>();
      const store = <K extends Key, E extends object>(mapping: SqlMapping<E>): Store<K, E> => {
        const name = mapping.tables[0].table;
        let s = stores.get(name);
        if (!s)
          stores.set(
            name,
            (s = memoryStore<Key, object>({ key: mapping.spec.key, version: mapping.spec.version } as never)),
          );
        return s as unknown as Store<K, E>;
      };
      return {
        kind,
        dialect: undefined,
        unique,
        ddl: async () => Promise.resolve(),
        raw: async () => Promise.resolve([]),
        store,
        storeInZone: store,
        close: async () => Promise.resolve(),
      };
    }
    case 'sqlite': {
      const db = new Database(':memory:');
      return {
        kind,
        dialect: 'sqlite',
        unique,
        ddl: async (s) => {
          for (const sql of list(s.sqlite)) db.exec(sql);
          return Promise.resolve();
        },
        raw: async (sql) => Promise.resolve(db.prepare(sql).raw(true).all() as unknown[][]),
        store: (mapping) => sqliteStore(db, mapping),
        storeInZone: (mapping) => sqliteStore(db, mapping),
        close: async () => {
          db.close();
          return Promise.resolve();
        },
      };
    }
    case 'postgres': {
      const schema = namespace();
      const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 2 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pools: pg.Pool[] = [];
      const pool = (zone?: Zone): pg.Pool => {
        const p = new pg.Pool({
          connectionString: SERVICE_URLS.postgres,
          max: 8,
          options: `-c search_path=${schema}${zone ? ` -c timezone=${zone}` : ''}`,
        });
        pools.push(p);
        return p;
      };
      const main = pool();
      return {
        kind,
        dialect: 'postgres',
        unique,
        ddl: async (s) => {
          for (const sql of list(s.postgres)) await main.query(sql);
        },
        raw: async (sql) => (await main.query({ text: sql, rowMode: 'array' })).rows as unknown[][],
        store: (mapping) => postgresStore(main, mapping),
        storeInZone: (mapping, zone) => postgresStore(pool(zone), mapping),
        loggedStore: (mapping) => {
          const { pool: logged, log } = withStatementLog(pool());
          return { store: postgresStore(logged, mapping), log };
        },
        close: async () => {
          await Promise.all(pools.map((p) => p.end()));
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          await admin.end();
        },
      };
    }
    case 'redis': {
      const ns = namespace();
      const client = new Redis(SERVICE_URLS.redis, { maxRetriesPerRequest: 1 });
      // One store per table name, as a database would have one table; a mapping over several tables is one hash.
      const store = <K extends Key, E extends object>(mapping: SqlMapping<E>): Store<K, E> =>
        redisStore<K, E>(client, redisMappingFromSql<E>(mapping, `${ns}:${mapping.tables[0].table}:`));
      return {
        kind,
        dialect: undefined,
        unique,
        redis: client,
        rawHashSet: async (table, keyText, field, value) => {
          await client.hset(`${ns}:${table}:${keyText}`, field, value);
        },
        ddl: async () => Promise.resolve(),
        raw: async () => Promise.resolve([]),
        store,
        storeInZone: store,
        close: async () => {
          await dropRedisKeys(client, ns);
          client.disconnect();
        },
      };
    }
    case 'mysql': {
      const database = namespace();
      const admin = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
      await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
      const pools: mysql.Pool[] = [];
      const pool = (zone?: Zone): mysql.Pool => {
        const p = mysql.createPool({ uri: SERVICE_URLS.mysql, database, connectionLimit: 8 });
        if (zone) {
          p.on('connection', (conn) => {
            void conn.query(`SET time_zone = '${ZONE_OFFSETS[zone]}'`);
          });
        }
        pools.push(p);
        return p;
      };
      const main = pool();
      return {
        kind,
        dialect: 'mysql',
        unique,
        ddl: async (s) => {
          for (const sql of list(s.mysql)) await main.query(sql);
        },
        raw: async (sql) => (await main.query({ sql, rowsAsArray: true }))[0] as unknown[][],
        store: (mapping) => mysqlStore(main, mapping),
        storeInZone: (mapping, zone) => mysqlStore(pool(zone), mapping),
        loggedStore: (mapping) => {
          const { pool: logged, log } = withStatementLog(pool());
          return { store: mysqlStore(logged, mapping), log };
        },
        close: async () => {
          await Promise.all(pools.map((p) => p.end()));
          await admin.query(`DROP DATABASE ${database}`);
          await admin.end();
        },
      };
    }
  }
}
