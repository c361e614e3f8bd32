import mysql from 'mysql2/promise';
import pg from 'pg';
import { col, defineMigration, sqlMapping, PHASES, type Phase, type Store } from '../src/index.js';
import { mysqlStore } from '../src/mysql/index.js';
import { postgresControlStore, postgresStore } from '../src/postgres/index.js';
import { withStatementLog, type StatementLog } from '../test/support/statement-log.js';

/**
 * Statements per repository call, per phase, on real stores: what each call
 * sends to old, to new and to the control store (PostgreSQL), counted at the
 * driver, background work (second writes, comparisons, intents) included.
 * Counts, not times: the same on any machine. The application's own call is
 * the statement it would run without midair (one for each of these).
 */

interface Profile {
  id: bigint;
  bio: string;
  visits: number;
}

const OPS = ['get', 'put existing', 'put new', 'patch', 'delete'] as const;
type Op = (typeof OPS)[number];

export interface StatementCounts {
  readonly pair: string;
  /** Per phase, per op: statements on old, new and the control store. */
  readonly phases: Readonly<Record<string, Readonly<Record<Op, readonly [number, number, number]>>>>;
  /** The application's own statements for the same calls on old, without midair. */
  readonly direct: Readonly<Record<Op, number>>;
}

const mapping = (table: string) =>
  sqlMapping<Profile>({
    key: 'id',
    tables: [{ table, columns: { id: col.bigint('id'), bio: col.text('bio'), visits: col.integer('visits') } }],
  });

interface Side {
  readonly store: Store<bigint, Profile>;
  readonly log: StatementLog;
  readonly close: () => Promise<void>;
}

async function onAdmin(url: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A store on a pool of its own whose statements are logged, set up; `close` ends the pool, then drops the namespace. */
async function loggedSide<P extends { end(): Promise<void> }>(
  raw: P,
  open: (pool: P) => Store<bigint, Profile>,
  drop: () => Promise<void>,
): Promise<Side> {
  const { pool, log } = withStatementLog(raw);
  const store = open(pool);
  await store.setup();
  return {
    store,
    log,
    close: async () => {
      await raw.end();
      await drop();
    },
  };
}

async function pgSide(url: string, schema: string, table: string): Promise<Side> {
  await onAdmin(
    url,
    `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.${table} (id bigint PRIMARY KEY, bio text NOT NULL, visits integer NOT NULL)`,
  );
  return loggedSide(
    new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}` }),
    (pool) => postgresStore<bigint, Profile>(pool, mapping(table)),
    () => onAdmin(url, `DROP SCHEMA ${schema} CASCADE`),
  );
}

async function onMysql(url: string, statements: readonly string[]): Promise<void> {
  const admin = await mysql.createConnection({ uri: url });
  try {
    for (const sql of statements) await admin.query(sql);
  } finally {
    await admin.end();
  }
}

async function mysqlSide(url: string, database: string, table: string): Promise<Side> {
  await onMysql(url, [
    `DROP DATABASE IF EXISTS ${database}`,
    `CREATE DATABASE ${database}`,
    `CREATE TABLE ${database}.${table} (id bigint PRIMARY KEY, bio varchar(200) NOT NULL, visits int NOT NULL) ENGINE=InnoDB`,
  ]);
  return loggedSide(
    mysql.createPool({ uri: url, database, connectionLimit: 4 }),
    (pool) => mysqlStore<bigint, Profile>(pool, mapping(table)),
    () => onMysql(url, [`DROP DATABASE ${database}`]),
  );
}

/** The fewest statements of `tries` runs of `call` (a poll or heartbeat that happens to fall inside one only adds). */
async function fewest(
  logs: readonly StatementLog[],
  tries: number,
  call: (i: number) => Promise<unknown>,
): Promise<[number, number, number]> {
  let best: [number, number, number] | undefined;
  for (let i = 0; i < tries; i++) {
    for (const l of logs) l.reset();
    await call(i);
    const counts = logs.map((l) => l.statements.length) as [number, number, number];
    if (!best || counts.reduce((a, b) => a + b) < best.reduce((a, b) => a + b)) best = counts;
  }
  return best ?? [0, 0, 0];
}

async function countPair(
  pair: string,
  old: Side,
  neu: Side,
  controlUrl: string,
  schema: string,
): Promise<StatementCounts> {
  await onAdmin(controlUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const rawControl = new pg.Pool({ connectionString: controlUrl, max: 4, options: `-c search_path=${schema}` });
  const control = withStatementLog(rawControl);
  const controlStore = postgresControlStore(control.pool);
  await controlStore.setup();
  const logs = [old.log, neu.log, control.log] as const;
  const m = defineMigration<bigint, Profile>({
    name: 'profiles',
    old: old.store,
    new: neu.store,
    control: controlStore,
    pollMs: 60_000,
    instanceExpiryMs: 600_000,
    repair: { enabled: false },
  });
  await m.start();
  const users = m.repository();
  let next = 1_000;
  const tries = 3;
  const phases: Record<string, Record<Op, readonly [number, number, number]>> = {};
  try {
    for (let i = 1; i <= 50; i++) await users.put({ id: BigInt(i), bio: `bio ${i}`, visits: i });
    await m.settle();
    for (const phase of PHASES) {
      while (m.state.phase !== phase) await m.advance({ reason: 'bench: statements per call', force: true });
      // Keys every phase sees on both sides: written through the repository, so dual writes put them in new too.
      const fresh = async (): Promise<bigint> => {
        const id = BigInt(next++);
        await users.put({ id, bio: 'fresh', visits: 0 });
        await m.settle();
        return id;
      };
      const row: Partial<Record<Op, readonly [number, number, number]>> = {};
      for (const op of OPS) {
        const keys = await Promise.all(Array.from({ length: tries }, fresh));
        row[op] = await fewest(logs, tries, async (i) => {
          const id = keys[i] as bigint;
          if (op === 'get') await users.get(id);
          else if (op === 'put existing') await users.put({ id, bio: 'changed', visits: 1 });
          else if (op === 'put new') await users.put({ id: BigInt(next++), bio: 'new', visits: 0 });
          else if (op === 'patch') await users.patch(id, { visits: 2 });
          else await users.delete(id);
          await m.settle();
        });
      }
      phases[phase] = row as Record<Op, readonly [number, number, number]>;
    }
  } finally {
    await m.close();
    await rawControl.end();
    await onAdmin(controlUrl, `DROP SCHEMA ${schema} CASCADE`);
  }
  return { pair, phases, direct: APPLICATION };
}

/**
 * What the application's own data layer sends for the same calls: SELECT,
 * UPDATE, INSERT, UPDATE of the patched columns, DELETE — one statement each.
 */
const APPLICATION: Readonly<Record<Op, number>> = { get: 1, 'put existing': 1, 'put new': 1, patch: 1, delete: 1 };

export async function measureStatements(pgUrl: string, mysqlUrl: string): Promise<StatementCounts[]> {
  const tag = `${process.pid}`;
  const pairs: readonly [string, () => Promise<Side>][] = [
    ['PostgreSQL → PostgreSQL', () => pgSide(pgUrl, `bench_stmt_old_${tag}`, 'profiles')],
    ['MariaDB → PostgreSQL', () => mysqlSide(mysqlUrl, `bench_stmt_old_${tag}`, 'profiles')],
  ];
  const results: StatementCounts[] = [];
  for (const [pair, oldSide] of pairs) {
    const old = await oldSide();
    const neu = await pgSide(pgUrl, `bench_stmt_new_${tag}`, 'profiles');
    try {
      results.push(await countPair(pair, old, neu, pgUrl, `bench_stmt_ctl_${tag}`));
    } finally {
      await old.close();
      await neu.close();
    }
  }
  return results;
}

/** The counts as Markdown: one table per pair, a row per phase, `old + new + control` per call. */
export function statementsTable(results: readonly StatementCounts[]): string {
  return results
    .map((r) => {
      const head = `| phase | ${OPS.join(' | ')} |\n|---|${OPS.map(() => '---').join('|')}|`;
      const app = `| the application alone | ${OPS.map((op) => `${r.direct[op]}`).join(' | ')} |`;
      const rows = PHASES.filter((p): p is Phase => r.phases[p] !== undefined).map((p) => {
        const cells = OPS.map((op) => {
          const [o, n, c] = r.phases[p]?.[op] ?? [0, 0, 0];
          return `${o} + ${n} + ${c}`;
        });
        return `| ${p} | ${cells.join(' | ')} |`;
      });
      return `**${r.pair}** (old + new + control store)\n\n${head}\n${app}\n${rows.join('\n')}`;
    })
    .join('\n\n');
}
