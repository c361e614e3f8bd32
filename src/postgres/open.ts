import { MidairError } from '../core/errors.js';
import type { Pool as PgPool } from 'pg';
import type { PostgresPool } from './postgres-driver.js';

/**
 * Opens a `pg` pool (an optional peer dependency) for a connection URL.
 *
 * @example const pool = await openPostgresPool('postgres://app@db:5432/app');
 */
export async function openPostgresPool(url: string, max = 8): Promise<PostgresPool> {
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
