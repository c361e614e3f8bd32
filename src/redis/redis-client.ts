import { createHash } from 'node:crypto';
import type { ChainableCommander, Redis } from 'ioredis';
import { MidairError } from '../core/errors.js';

/** The user's ioredis client (a standalone server or a replicated primary). */
export type RedisClient = Redis;

/** An argument Redis takes. */
export type Arg = string | Buffer | number;

/** A Lua script run by its SHA1, loaded on the first NOSCRIPT. */
export class Script {
  readonly sha: string;
  readonly source: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs it, its reply's strings as Buffers. */
  async run(client: RedisClient, keys: readonly Arg[], args: readonly Arg[]): Promise<unknown> {
    try {
      return await client.callBuffer('EVALSHA', [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return client.callBuffer('EVAL', [this.source, keys.length, ...keys, ...args]);
    }
  }

  async load(client: RedisClient): Promise<void> {
    await client.script('LOAD', this.source);
  }
}

/** The results of a pipeline, the first error thrown. */
export async function execAll(pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (!results) throw new MidairError('CONNECTION', 'a Redis pipeline was discarded (the connection closed)');
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** A Redis client error as midair's: FENCED and wrong types from the scripts, connection trouble, anything else. */
export function redisError(error: unknown, store: string, operation: string): MidairError {
  if (error instanceof MidairError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes('MIDAIR_WRONGTYPE') || message.includes('WRONGTYPE'))
    return new MidairError(
      'SCHEMA_MISMATCH',
      `${operation} on ${store}: a key under the prefix holds something other than a hash; nothing was written`,
      { cause: error },
    );
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|connect E/.test(message))
    return new MidairError('CONNECTION', `${operation} on ${store}: Redis is unreachable (${message})`, {
      cause: error,
    });
  if (message.startsWith('NOAUTH') || message.startsWith('WRONGPASS'))
    return new MidairError('AUTH_FAILED', `${operation} on ${store}: Redis refused the credentials`, { cause: error });
  return new MidairError('UNKNOWN', `${operation} on ${store}: ${message}`, { cause: error });
}
