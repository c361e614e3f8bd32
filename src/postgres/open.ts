import { MidairError } from '../core/errors.js';
import type { Pool as PgPool } from 'pg';
import { assertServerUrl } from '../sql/server-url.js';
import type { PostgresPool } from './postgres-driver.js';

/**
 * Opens a `pg` pool (an optional peer dependency) for a connection URL. A URL
 * the driver could not use (a port out of range, an IPv6 host missing a
 * bracket) is refused here, as CONFIG naming `from`, before any connection.
 *
 * @example const pool = await openPostgresPool('postgres://app@db:5432/app');
 */
export async function openPostgresPool(url: string, max = 8, from = 'the connection URL'): Promise<PostgresPool> {
  assertServerUrl(url, 'postgres', from);
  let Pool: typeof PgPool;
  try {
    Pool = (await import('pg')).default.Pool;
  } catch (err) {
    throw new MidairError('NOT_SUPPORTED', 'a postgres:// URL needs the pg package: run `npm install pg`', {
      cause: err,
    });
  }
  return new Pool({ connectionString: url, max });
}
