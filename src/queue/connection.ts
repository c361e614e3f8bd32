import type * as BullMqModule from 'bullmq';
import type { Job, Processor, Queue, Worker, WorkerOptions } from 'bullmq';

type BullMq = typeof BullMqModule;
import { MidairError } from '../core/errors.js';
import type { RangeJob, RangeJobValue } from '../jobs/range-queue.js';

/** A queue on one backend: its constructors bound to the connection, and where it lives (for messages). */
export interface QueueBackend {
  /** `host:port` (and the database), never a password. */
  readonly where: string;
  queue(name: string): Queue<RangeJob, RangeJobValue>;
  worker(
    name: string,
    processor: Processor<RangeJob, RangeJobValue>,
    options: Omit<WorkerOptions, 'connection'>,
  ): Worker<RangeJob, RangeJobValue>;
}

export type RangeQueueJob = Job<RangeJob, RangeJobValue>;

/** The queue's name for a migration's jobs: BullMQ names may not hold `:`. */
export function queueName(migration: string, prefix = 'midair'): string {
  return `${prefix}-${migration}`.replace(/:/g, '-');
}

async function bullmq(): Promise<BullMq> {
  try {
    return await import('bullmq');
  } catch (err) {
    throw new MidairError('NOT_SUPPORTED', 'a queued run needs the bullmq package: run `npm install bullmq`', {
      cause: err,
    });
  }
}

/** Redis connection options from a `redis://` or `rediss://` URL (BullMQ's workers need `maxRetriesPerRequest: null`). */
function redisOptions(u: URL): Record<string, unknown> {
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db === undefined ? {} : { db }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/**
 * Opens a queue backend for a URL: `redis://` / `rediss://` (BullMQ's
 * default backend) or `postgres://` / `postgresql://` (BullMQ's PostgreSQL
 * backend, whose tables it creates in the schema `bullmq` on first use). A
 * URL of any other kind is refused as CONFIG before anything connects; the
 * URL itself is never printed.
 */
export async function queueBackend(url: string, from = '--queue'): Promise<QueueBackend> {
  let u: URL;
  try {
    u = new URL(url);
  } catch (cause) {
    throw new MidairError('CONFIG', `${from}: not a URL; use redis://host[:port][/db] or postgres://…`, { cause });
  }
  const where = `${u.hostname}:${u.port || (u.protocol.startsWith('postgres') ? 5432 : 6379)}${u.pathname.length > 1 ? u.pathname : ''}`;
  const b = await bullmq();
  if (u.protocol === 'redis:' || u.protocol === 'rediss:') {
    if (u.pathname.length > 1 && !/^\/\d+$/.test(u.pathname))
      throw new MidairError('CONFIG', `${from}: a Redis URL's path is a database number (redis://host:6379/0)`);
    const connection = redisOptions(u);
    return {
      where,
      queue: (name) => new b.Queue<RangeJob, RangeJobValue>(name, { connection }),
      worker: (name, processor, options) =>
        new b.Worker<RangeJob, RangeJobValue>(name, processor, { ...options, connection }),
    };
  }
  if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
    const pg = b.withBackend(b.createPostgresBackend);
    const connection = { connectionString: url, migrate: true };
    return {
      where,
      // The same API on another backend: typed as the default backend's classes, whose methods it shares.
      queue: (name) =>
        new pg.Queue<RangeJob, RangeJobValue>(name, { connection }) as unknown as Queue<RangeJob, RangeJobValue>,
      worker: (name, processor, options) =>
        new pg.Worker<RangeJob, RangeJobValue>(name, processor, {
          ...options,
          connection,
        }) as unknown as Worker<RangeJob, RangeJobValue>,
    };
  }
  throw new MidairError(
    'CONFIG',
    `${from}: a queue URL is redis://, rediss://, postgres:// or postgresql:// (got ${u.protocol.replace(/:$/, '')})`,
  );
}
