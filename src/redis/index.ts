/**
 * midair/redis — a store over an ioredis client you already have: each
 * entity a hash under a key prefix, fields through the `col.*` codecs, with
 * an ordered key index, tombstones, fences and row hashes kept beside them
 * by compare-and-set scripts (docs/redis.md).
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { col } from 'midair';
 * import { redisMapping, redisStore } from 'midair/redis';
 *
 * const users = redisStore<bigint, User>(new Redis(process.env.REDIS_URL), redisMapping<User>({
 *   prefix: 'user:', key: 'id', version: 'version',
 *   fields: { id: col.bigint('id'), email: col.text('email'), version: col.integer('version') },
 * }));
 * ```
 */
export { redisStore, RedisStore, type RedisStoreOptions } from './redis-store.js';
export { redisMapping, type RedisMapping, type RedisMappingSpec, type RedisField } from './redis-mapping.js';
export type { RedisClient } from './redis-client.js';
export { redisMappingFromSql } from './from-sql.js';
export { openRedisClient } from './open.js';
