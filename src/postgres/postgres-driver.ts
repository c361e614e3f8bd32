import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { SqlDriver, SqlResult, TransactionOptions } from '../sql/sql-driver.js';
import { runTransaction, type Session } from '../sql/sql-transaction.js';
import { postgresTarget } from './postgres-target.js';

/** The query shape midair sends: array rows, values left as text. */
export interface PostgresQueryConfig {
  readonly text: string;
  readonly values?: unknown[];
  readonly rowMode?: 'array';
  readonly types?: { getTypeParser(...args: never[]): unknown };
}

export interface PostgresQueryResult {
  readonly rows: unknown[];
  readonly rowCount: number | null;
}

/** The subset of a `pg` client midair uses. */
export interface PostgresClient {
  query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
}

/** The subset of a `pg` pooled client midair uses. */
export interface PostgresPoolClient extends PostgresClient {
  release(destroy?: Error | boolean): void;
  /** For LISTEN/NOTIFY (`notification`) and dropped connections (`error`). */
  on?(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on?(event: 'error', listener: (error: Error) => void): unknown;
}

/** The subset of a `pg` `Pool` midair uses: it never needs the package itself. */
export interface PostgresPool extends PostgresClient {
  connect(): Promise<PostgresPoolClient>;
  end?(): Promise<void>;
}

/** Hands every value back as the server's text, so codecs decide (no lossy Date or float parsing). */
const RAW_TEXT = Object.freeze({ getTypeParser: () => (value: string) => value });

/** `pg-copy-streams` (an optional peer dependency), loaded on first use; `null` when it is not installed. */
interface CopyStreams {
  from(sql: string): NodeJS.WritableStream;
  to(sql: string): NodeJS.ReadableStream;
}
let copyStreams: Promise<CopyStreams | null> | undefined;
function loadCopyStreams(): Promise<CopyStreams | null> {
  copyStreams ??= import('pg-copy-streams').then(
    (m) => m as unknown as CopyStreams,
    () => null,
  );
  return copyStreams;
}

/** Everything a `COPY … TO STDOUT` statement writes, on this client. */
async function copyOutOn(client: PostgresPoolClient, streams: CopyStreams, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const source = (client as unknown as { query(stream: NodeJS.ReadableStream): NodeJS.ReadableStream }).query(
    streams.to(sql),
  );
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** {@link copyOutOn} on a connection of the pool. */
async function copyOut(pool: PostgresPool, streams: CopyStreams, sql: string): Promise<Buffer> {
  const client = await pool.connect();
  let broken = false;
  try {
    return await copyOutOn(client, streams, sql);
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

async function copyIn(client: PostgresPoolClient, sql: string, data: string | Buffer): Promise<void> {
  const streams = await loadCopyStreams();
  if (!streams) throw new Error('pg-copy-streams is not installed');
  const sink = (client as unknown as { query(stream: NodeJS.WritableStream): NodeJS.WritableStream }).query(
    streams.from(sql),
  );
  await pipeline(Readable.from([data]), sink);
}

async function run(client: PostgresClient, sql: string, params: readonly unknown[] = []): Promise<SqlResult> {
  const result = await client.query({ text: sql, values: [...params], rowMode: 'array', types: RAW_TEXT });
  return { rows: result.rows as unknown[][], affected: result.rowCount ?? 0 };
}

/** A pooled client for one transaction, with COPY on it where pg-copy-streams is installed; a broken one is destroyed, not pooled. */
async function session(pool: PostgresPool): Promise<Session> {
  const streams = await loadCopyStreams();
  const client = await pool.connect();
  return {
    conn: {
      query: (sql, params) => run(client, sql, params),
      ...(streams
        ? {
            copyIn: (sql: string, data: string | Buffer) => copyIn(client, sql, data),
            copyOut: (sql: string) => copyOutOn(client, streams, sql),
          }
        : {}),
    },
    release: (broken) => client.release(broken),
  };
}

function begin(options: TransactionOptions): readonly string[] {
  return [options.isolation ? `BEGIN ISOLATION LEVEL ${options.isolation.toUpperCase()}` : 'BEGIN'];
}

export interface PostgresDriverOptions {
  /** End the pool on `close()`: only for a pool midair created. Default false. */
  readonly ownsPool?: boolean;
}

/** Adapts a `pg` pool to midair's SQL driver contract. */
export function postgresDriver(pool: PostgresPool, options: PostgresDriverOptions = {}): SqlDriver {
  return {
    pool,
    target: postgresTarget(pool),
    query: (sql, params) => run(pool, sql, params),
    async copyOut(sql) {
      const streams = await loadCopyStreams();
      return streams ? copyOut(pool, streams, sql) : undefined;
    },
    transaction: (fn, txOptions) => runTransaction(() => session(pool), begin, fn, txOptions),
    async close() {
      if (options.ownsPool) await pool.end?.();
    },
  };
}
