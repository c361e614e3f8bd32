import mysql from 'mysql2/promise';
import pg from 'pg';
import { col, sqlMapping, type ControlStore, type SqlMapping, type Store } from '../src/index.js';
import { mysqlStore } from '../src/mysql/index.js';
import { postgresControlStore, postgresStore } from '../src/postgres/index.js';
import { SCHEMA, usersMapping, type BenchUser } from './data.js';

/**
 * The two sides of a migration the load cases run, described as data so an
 * application process and the operator's process open the same stores: a
 * PostgreSQL users table (bench/data.ts's shape), or a MariaDB schema of
 * another shape — `accounts` with renamed columns, and the profile fields
 * split into `account_profiles` keyed by `account_id`.
 */
export type SideSpec =
  | { readonly engine: 'postgres'; readonly table: string }
  | { readonly engine: 'mariadb-split'; readonly accounts: string; readonly profiles: string };

/** A migration's stores and its control store (PostgreSQL, so every process shares it). */
export interface SidesSpec {
  readonly pgUrl: string;
  readonly mysqlUrl: string;
  readonly old: SideSpec;
  readonly new: SideSpec;
  /** The control store's table prefix, in the bench schema. */
  readonly controlPrefix: string;
}

/** The entity over the MariaDB split: renamed columns, `bio` and `prefs` in a second table. */
export function accountsMapping(accounts: string, profiles: string): SqlMapping<BenchUser> {
  return sqlMapping<BenchUser>({
    key: 'id',
    table: accounts,
    columns: {
      id: col.bigint('id'),
      email: col.text('email_address'),
      name: col.text('display_name'),
      bio: col.text('bio').in(profiles),
      prefs: col.json('preferences').in(profiles),
      createdAt: col.timestamptz('signed_up_at'),
      updatedAt: col.timestamptz('modified_at'),
    },
    joined: { [profiles]: { key: 'account_id' } },
  });
}

/** The MariaDB database the split lives in (the bench's own), created if absent. */
export async function mariaPool(url: string, connections: number): Promise<mysql.Pool> {
  const admin = await mysql.createConnection({ uri: url });
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${SCHEMA} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${SCHEMA}`;
  return mysql.createPool({ uri: u.toString(), connectionLimit: connections });
}

/** (Re)creates the empty MariaDB split, without midair's tables beside it. */
export async function mariaSplit(
  pool: mysql.Pool,
  side: Extract<SideSpec, { engine: 'mariadb-split' }>,
): Promise<void> {
  const { accounts, profiles } = side;
  await pool.query(
    `DROP TABLE IF EXISTS ${profiles}, ${accounts}, ${accounts}_midair_tombstones, ${accounts}_midair_fences`,
  );
  await pool.query(`CREATE TABLE ${accounts} (id bigint PRIMARY KEY, email_address varchar(200) NOT NULL,
    display_name varchar(200) NOT NULL, signed_up_at timestamp(6) NULL, modified_at timestamp(6) NULL) ENGINE=InnoDB`);
  await pool.query(
    `CREATE TABLE ${profiles} (account_id bigint PRIMARY KEY, bio text, preferences json) ENGINE=InnoDB`,
  );
}

/** The stores a process opens, each on a pool of its own (as in separate databases), and how to let go of them. */
export interface OpenSides {
  readonly old: Store<bigint, BenchUser>;
  readonly new: Store<bigint, BenchUser>;
  readonly control: ControlStore;
  close(): Promise<void>;
}

/** Opens both sides and the control store; `connections` per store pool. */
export async function openSides(spec: SidesSpec, connections: number): Promise<OpenSides> {
  const closers: (() => Promise<void>)[] = [];
  const open = async (side: SideSpec): Promise<Store<bigint, BenchUser>> => {
    if (side.engine === 'postgres') {
      const pool = new pg.Pool({ connectionString: spec.pgUrl, max: connections });
      pool.on('error', () => undefined);
      closers.push(async () => pool.end());
      return postgresStore<bigint, BenchUser>(pool, usersMapping(side.table, SCHEMA));
    }
    const pool = await mariaPool(spec.mysqlUrl, connections);
    closers.push(async () => pool.end());
    return mysqlStore<bigint, BenchUser>(pool, accountsMapping(side.accounts, side.profiles));
  };
  const old = await open(spec.old);
  const neu = await open(spec.new);
  const controlPool = new pg.Pool({
    connectionString: spec.pgUrl,
    max: 4,
    options: `-c search_path=${SCHEMA}`,
  });
  controlPool.on('error', () => undefined);
  closers.push(async () => controlPool.end());
  const control = postgresControlStore(controlPool, { tablePrefix: spec.controlPrefix });
  return {
    old,
    new: neu,
    control,
    close: async () => {
      for (const c of closers.reverse()) await c();
    },
  };
}

/** Drops the control store's tables (a fresh control store for the next run). */
export async function dropControl(pool: pg.Pool, prefix: string): Promise<void> {
  const { rows } = await pool.query<{ t: string }>(
    `SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 AND starts_with(tablename, $2)`,
    [SCHEMA, prefix],
  );
  if (rows.length > 0) await pool.query(`DROP TABLE ${rows.map((r) => `${SCHEMA}."${r.t}"`).join(', ')} CASCADE`);
}
