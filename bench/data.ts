import mysql from 'mysql2/promise';
import pg from 'pg';
import { col, sqlMapping, type SqlMapping } from '../src/index.js';

export const SCHEMA = 'midair_bench';

/** The benchmark entity: `users(id bigint pk, email, name, bio ≈200 chars, prefs json, created_at, updated_at)`. */
export interface BenchUser {
  id: bigint;
  email: string;
  name: string;
  bio: string | null;
  prefs: unknown;
  createdAt: Date;
  updatedAt: Date;
}

export function usersMapping(table: string, schema?: string): SqlMapping<BenchUser> {
  return sqlMapping<BenchUser>({
    key: 'id',
    tables: [
      {
        table,
        ...(schema ? { schema } : {}),
        columns: {
          id: col.bigint('id'),
          email: col.text('email'),
          name: col.text('name'),
          bio: col.text('bio'),
          prefs: col.json('prefs'),
          createdAt: col.timestamptz('created_at'),
          updatedAt: col.timestamptz('updated_at'),
        },
      },
    ],
  });
}

const PG_COLUMNS =
  'id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, bio text, prefs jsonb, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL';

/** Deterministic rows, generated inside PostgreSQL. */
const PG_FILL = (table: string, rows: number): string =>
  `INSERT INTO ${SCHEMA}.${table} SELECT g, 'user' || g || '@example.com', 'Name ' || g, repeat(md5(g::text), 6) || 'abcdefgh',
     jsonb_build_object('theme', CASE WHEN g % 2 = 0 THEN 'dark' ELSE 'light' END, 'n', g % 100, 'tags', jsonb_build_array('a', g % 7)),
     timestamptz '2020-01-01' + g * interval '1 second', timestamptz '2024-01-01' + g * interval '1 millisecond'
   FROM generate_series(1, ${rows}) g`;

export async function pgPool(url: string): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  return pool;
}

/** (Re)creates a PostgreSQL users table with `rows` rows (0: empty). */
export async function pgUsers(pool: pg.Pool, table: string, rows: number): Promise<void> {
  await pool.query(
    `DROP TABLE IF EXISTS ${SCHEMA}.${table}, ${SCHEMA}.${table}_midair_tombstones, ${SCHEMA}.${table}_midair_fences`,
  );
  await pool.query(`CREATE TABLE ${SCHEMA}.${table} (${PG_COLUMNS})`);
  if (rows > 0) await pool.query(PG_FILL(table, rows));
  await pool.query(`ANALYZE ${SCHEMA}.${table}`);
}

/** (Re)creates a MariaDB users table with the same rows, generated from PostgreSQL's (streamed in batches). */
export async function mysqlUsers(url: string, source: pg.Pool, table: string, rows: number): Promise<mysql.Pool> {
  const admin = await mysql.createConnection({ uri: url });
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${SCHEMA} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${SCHEMA}`;
  const pool = mysql.createPool({ uri: u.toString(), connectionLimit: 8 });
  await pool.query(`DROP TABLE IF EXISTS ${table}, ${table}_midair_tombstones, ${table}_midair_fences`);
  await pool.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, email varchar(200) NOT NULL, name varchar(200) NOT NULL, bio text, prefs json,
    created_at timestamp(6) NULL, updated_at timestamp(6) NULL) ENGINE=InnoDB`);
  for (let lo = 0; lo < rows; lo += 20_000) {
    const { rows: batch } = await source.query<{ v: string }>(
      `SELECT format('(%s,%L,%L,%L,%L,FROM_UNIXTIME(%s),FROM_UNIXTIME(%s))', id, email, name, bio, prefs::text, extract(epoch from created_at), extract(epoch from updated_at)) AS v
         FROM ${SCHEMA}.users_a WHERE id > $1 AND id <= $2 ORDER BY id`,
      [lo, lo + 20_000],
    );
    if (batch.length > 0) await pool.query(`INSERT INTO ${table} VALUES ${batch.map((r) => r.v).join(',')}`);
  }
  return pool;
}
