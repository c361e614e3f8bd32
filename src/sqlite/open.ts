import type BetterSqlite3 from 'better-sqlite3';
import { MidairError } from '../errors.js';
import type { SqliteDatabase } from './sqlite-driver.js';

/**
 * Opens a SQLite file with `better-sqlite3` (an optional peer dependency),
 * in WAL mode so readers do not block the writer.
 *
 * @example const db = await openSqlite('app.db');
 */
export async function openSqlite(path: string): Promise<SqliteDatabase & { pragma(sql: string): unknown; exec(sql: string): unknown }> {
  let Database: typeof BetterSqlite3;
  try {
    Database = (await import('better-sqlite3')).default;
  } catch (err) {
    throw new MidairError('NOT_SUPPORTED', 'the SQLite adapter needs the better-sqlite3 package: run `npm install better-sqlite3`', { cause: err });
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
