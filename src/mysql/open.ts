import { MidairError } from '../core/errors.js';
import type { createPool as CreatePool } from 'mysql2/promise';
import { assertServerUrl } from '../sql/server-url.js';
import type { MysqlPool } from './mysql-driver.js';

/**
 * Opens a `mysql2/promise` pool (an optional peer dependency) for a connection URL (MySQL or MariaDB).
 * A URL the driver could not use (a port out of range, an IPv6 host missing a
 * bracket) is refused here, as CONFIG naming `from`, before any connection.
 *
 * @example const pool = await openMysqlPool('mysql://app@db:3306/app');
 */
export async function openMysqlPool(url: string, connectionLimit = 8, from = 'the connection URL'): Promise<MysqlPool> {
  assertServerUrl(url, 'mysql', from);
  let createPool: typeof CreatePool;
  try {
    createPool = (await import('mysql2/promise')).createPool;
  } catch (err) {
    throw new MidairError('NOT_SUPPORTED', 'a mysql:// URL needs the mysql2 package: run `npm install mysql2`', {
      cause: err,
    });
  }
  return createPool({ uri: url, connectionLimit });
}
