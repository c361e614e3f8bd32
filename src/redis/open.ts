import { MidairError } from '../core/errors.js';
import type { Redis as RedisClass } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/**
 * Opens an ioredis client (an optional peer dependency) for a `redis://` or
 * `rediss://` URL. A URL that does not parse is refused as CONFIG naming
 * `from`, before anything connects; the URL itself is never printed.
 *
 * @example const client = await openRedisClient('redis://127.0.0.1:6379/0');
 */
export async function openRedisClient(url: string, from = 'the connection URL'): Promise<RedisClient> {
  try {
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(u.protocol);
    if (u.pathname.length > 1 && !/^\/\d+$/.test(u.pathname)) throw new Error('database');
  } catch (cause) {
    throw new MidairError(
      'CONFIG',
      `${from}: not a Redis URL; use redis://[user:password@]host[:port][/db] or rediss://…`,
      {
        cause,
      },
    );
  }
  let Redis: typeof RedisClass;
  try {
    Redis = (await import('ioredis')).Redis;
  } catch (err) {
    throw new MidairError('NOT_SUPPORTED', 'a redis:// URL needs the ioredis package: run `npm install ioredis`', {
      cause: err,
    });
  }
  const client = new Redis(url, { maxRetriesPerRequest: 2, lazyConnect: true });
  // Connection failures reach each command as its own error; the client's event is not also an unhandled one.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
