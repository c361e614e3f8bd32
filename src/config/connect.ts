import { isAbsolute, resolve } from 'node:path';
import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { Store } from '../core/store.js';
import type { DialectName } from '../mapping/codecs.js';
import { assertServerUrl } from '../sql/server-url.js';

export const URL_KINDS = ['postgres', 'mysql', 'sqlite', 'redis'] as const;
export type UrlKind = (typeof URL_KINDS)[number];

/** The codecs' dialect a store of this kind writes keys in (Redis holds the text forms SQLite does). */
export function codecDialect(kind: UrlKind): DialectName {
  return kind === 'redis' ? 'sqlite' : kind;
}

/**
 * What a connection URL names: `postgres://` or `postgresql://`, `mysql://`
 * or `mariadb://`, `sqlite:<path>` (relative to `baseDir`), `redis://` or
 * `rediss://` (a store only). A server URL the
 * driver could not use (a port out of range, an IPv6 host missing a bracket)
 * is refused here, before anything connects. `from` names the config field in
 * messages; the URL itself is never printed (it may hold a password).
 */
export function parseConnection(
  url: string,
  from: string,
  baseDir: string,
): { kind: UrlKind; url: string; path?: string } {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    assertServerUrl(url, 'postgres', from);
    return { kind: 'postgres', url };
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    const mysqlUrl = url.replace(/^mariadb:/i, 'mysql:');
    assertServerUrl(mysqlUrl, 'mysql', from);
    return { kind: 'mysql', url: mysqlUrl };
  }
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'redis', url };
  if (scheme === 'sqlite' || scheme === 'file') {
    const rest = url.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '');
    if (!rest) throw new MidairError('CONFIG', `${from}: a sqlite URL needs a file, e.g. sqlite:data/app.db`);
    return { kind: 'sqlite', url, path: rest === ':memory:' || isAbsolute(rest) ? rest : resolve(baseDir, rest) };
  }
  throw new MidairError(
    'CONFIG',
    `${from}: unsupported URL scheme${scheme ? ` "${scheme}"` : ''}; use postgres://…, mysql://… (MariaDB too), sqlite:<file> or redis://…`,
  );
}

/** A missing driver package, said with the config field that asked for it. */
async function naming<T>(from: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof MidairError && err.code === 'NOT_SUPPORTED')
      throw new MidairError('CONFIG', `${from}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** Opens a store the config names; it owns its pool (closing the store closes it). */
export async function openStore<K extends Key, E extends object>(
  url: string,
  from: string,
  mapping: SqlMapping<E>,
  baseDir: string,
  name?: string,
  prefix?: string,
): Promise<Store<K, E>> {
  return naming(from, () => openStoreAt<K, E>(parseConnection(url, from, baseDir), from, mapping, name, prefix));
}

async function openStoreAt<K extends Key, E extends object>(
  c: ReturnType<typeof parseConnection>,
  from: string,
  mapping: SqlMapping<E>,
  name?: string,
  prefix?: string,
): Promise<Store<K, E>> {
  const options = { ...(name ? { name } : {}), source: from };
  switch (c.kind) {
    case 'redis': {
      const { openRedisClient, redisMappingFromSql, redisStore } = await import('../redis/index.js');
      const entities = redisMappingFromSql(mapping, prefix);
      return redisStore<K, E>(await openRedisClient(c.url, from), entities, {
        ...(name ? { name } : {}),
        ownsClient: true,
      });
    }
    case 'postgres': {
      const { openPostgresPool, postgresStore } = await import('../postgres/index.js');
      return postgresStore<K, E>(await openPostgresPool(c.url, 8, from), mapping, { ...options, ownsPool: true });
    }
    case 'mysql': {
      const { openMysqlPool, mysqlStore } = await import('../mysql/index.js');
      return mysqlStore<K, E>(await openMysqlPool(c.url, 8, from), mapping, { ...options, ownsPool: true });
    }
    case 'sqlite': {
      const { openSqlite, sqliteStore } = await import('../sqlite/index.js');
      return sqliteStore<K, E>(await openSqlite(c.path ?? '', { mustExist: c.path !== ':memory:' }), mapping, {
        ...options,
        ownsDatabase: true,
      });
    }
  }
}

/** Opens the control store the config names. */
export async function openControl(url: string, from: string, baseDir: string): Promise<ControlStore> {
  return naming(from, () => openControlAt(parseConnection(url, from, baseDir), from));
}

async function openControlAt(c: ReturnType<typeof parseConnection>, from: string): Promise<ControlStore> {
  const source = { source: from };
  switch (c.kind) {
    case 'redis':
      throw new MidairError(
        'CONFIG',
        `${from}: Redis holds stores, not the control store (its phase, audit log and repair queue need transactions across keys); use sqlite:…, postgres://… or mysql://…`,
      );
    case 'postgres': {
      const { openPostgresPool, postgresControlStore } = await import('../postgres/index.js');
      return postgresControlStore(await openPostgresPool(c.url, 4, from), { ...source, ownsPool: true });
    }
    case 'mysql': {
      const { openMysqlPool, mysqlControlStore } = await import('../mysql/index.js');
      return mysqlControlStore(await openMysqlPool(c.url, 4, from), { ...source, ownsPool: true });
    }
    case 'sqlite': {
      const { openSqlite, sqliteControlStore } = await import('../sqlite/index.js');
      return sqliteControlStore(await openSqlite(c.path ?? ''), { ...source, ownsDatabase: true });
    }
  }
}
