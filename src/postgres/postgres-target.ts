import type { ConnectionTarget } from '../sql/connection-problems.js';
import { serverOf } from '../sql/server-url.js';

/** How a URL asks for TLS (`sslmode=require`, `ssl=true`), when it does. */
function tlsOf(url: string): string | undefined {
  try {
    const params = new URL(url).searchParams;
    const mode = params.get('sslmode');
    if (mode !== null) return mode === 'disable' ? undefined : `sslmode=${mode}`;
    const ssl = params.get('ssl');
    return ssl === null || ssl === '0' || ssl === 'false' ? undefined : `ssl=${ssl === '1' ? '1' : 'true'}`;
  } catch {
    return undefined;
  }
}

/** Where a `pg` pool connects, read from its settings (a connection string, or host and port), for messages. */
export function postgresTarget(pool: object): ConnectionTarget {
  const o = (pool as { options?: { connectionString?: unknown; host?: unknown; port?: unknown; ssl?: unknown } })
    .options;
  if (!o) return {};
  if (typeof o.connectionString === 'string')
    return { server: serverOf(o.connectionString, 'postgres'), tls: tlsOf(o.connectionString) };
  const tls = o.ssl ? 'the ssl option' : undefined;
  if (typeof o.host !== 'string' || o.host === '') return { tls };
  if (o.host.startsWith('/')) return { server: o.host, tls };
  const port = typeof o.port === 'number' || typeof o.port === 'string' ? String(o.port) : '5432';
  return { server: `${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`, tls };
}
