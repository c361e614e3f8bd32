import { col, sqlMapping, type SqlMapping } from '../../src/index.js';
import type { Backend, Ddl } from '../support/backends.js';

/** An entity with one field of every supported type. */
export interface Thing {
  id: bigint;
  version: number;
  nInt: number | null;
  nBig: bigint | null;
  nNum: string | null;
  s: string | null;
  b: boolean | null;
  tstz: string | null;
  tsDate: Date | null;
  ts: string | null;
  d: string | null;
  j: unknown;
  bin: Uint8Array | null;
  u: string | null;
}

export function thingMapping(table: string): SqlMapping<Thing> {
  return sqlMapping<Thing>({
    key: 'id',
    version: 'version',
    tables: [
      {
        table,
        columns: {
          id: col.bigint('id'),
          version: col.integer('version'),
          nInt: col.integer('n_int'),
          nBig: col.bigint('n_big'),
          nNum: col.numeric('n_num'),
          s: col.text('s'),
          b: col.boolean('b'),
          tstz: col.timestamptz('tstz', { as: 'string' }),
          tsDate: col.timestamptz('ts_date'),
          ts: col.timestamp('ts'),
          d: col.date('d'),
          j: col.json('j'),
          bin: col.bytes('bin'),
          u: col.uuid('u'),
        },
      },
    ],
  });
}

export function thingDdl(table: string): Ddl {
  return {
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version bigint NOT NULL, n_int integer, n_big bigint, n_num numeric,
      s text, b boolean, tstz timestamptz, ts_date timestamptz(3), ts timestamp, d date, j jsonb, bin bytea, u uuid)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version bigint NOT NULL, n_int int, n_big bigint, n_num decimal(65,30),
      s longtext, b tinyint(1), tstz timestamp(6) NULL DEFAULT NULL, ts_date timestamp(3) NULL DEFAULT NULL, ts datetime(6), d date,
      j json, bin longblob, u char(36)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, n_int INTEGER, n_big INTEGER, n_num TEXT,
      s TEXT, b BOOLEAN, tstz TEXT, ts_date TEXT, ts TEXT, d TEXT, j TEXT, bin BLOB, u TEXT)`,
  };
}

export function emptyThing(id: bigint, version = 1): Thing {
  return {
    id,
    version,
    nInt: null,
    nBig: null,
    nNum: null,
    s: null,
    b: null,
    tstz: null,
    tsDate: null,
    ts: null,
    d: null,
    j: null,
    bin: null,
    u: null,
  };
}

/** A small versioned entity for volume and race tests. */
export interface Row {
  id: bigint;
  version: number;
  v: string;
}

export function rowMapping(table: string, versioned = true): SqlMapping<Row> {
  return sqlMapping<Row>({
    key: 'id',
    ...(versioned ? { version: 'version' as const } : {}),
    tables: [{ table, columns: { id: col.bigint('id'), version: col.integer('version'), v: col.text('v') } }],
  });
}

export function rowDdl(table: string): Ddl {
  return {
    postgres: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version integer NOT NULL, v text NOT NULL)`,
    mysql: `CREATE TABLE ${table} (id bigint PRIMARY KEY, version int NOT NULL, v varchar(200) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    sqlite: `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, v TEXT NOT NULL)`,
  };
}

/** Creates the table, and midair's tombstone table beside it; returns the store. */
export async function versionedRows(backend: Backend, versioned = true) {
  const table = backend.unique('rows');
  await backend.ddl(rowDdl(table));
  const store = backend.store<bigint, Row>(rowMapping(table, versioned));
  await store.setup();
  return { table, store };
}
