import type { ConnectionTarget } from '../sql/connection-problems.js';

interface ConnectionSettings {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly socketPath?: unknown;
  readonly ssl?: unknown;
}

/**
 * Where a `mysql2/promise` pool connects, read from the settings the pool
 * keeps (`pool.pool.config.connectionConfig`), for messages; empty when the
 * pool does not expose them.
 */
export function mysqlTarget(pool: object): ConnectionTarget {
  const c = (pool as { pool?: { config?: { connectionConfig?: ConnectionSettings } } }).pool?.config?.connectionConfig;
  if (!c) return {};
  const tls = c.ssl ? 'the ssl option' : undefined;
  if (typeof c.socketPath === 'string' && c.socketPath !== '') return { server: c.socketPath, tls };
  if (typeof c.host !== 'string' || c.host === '') return { tls };
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return { server: `${host}:${typeof c.port === 'number' ? c.port : 3306}`, tls };
}
