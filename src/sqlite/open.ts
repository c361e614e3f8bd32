import type BetterSqlite3 from 'better-sqlite3';
import { MidairError } from '../core/errors.js';
import type { SqliteDatabase } from './sqlite-driver.js';

/**
 * Opens a SQLite file with `better-sqlite3` (an optional peer dependency),
 * in WAL mode so readers do not block the writer. With `mustExist`, a
 * missing file is an error instead of a new empty database.
 *
 * @example const db = await openSqlite('app.db');
 */
export async function openSqlite(
  path: string,
  options: { readonly mustExist?: boolean } = {},
): Promise<SqliteDatabase & { pragma(sql: string): unknown; exec(sql: string): unknown }> {
  let Database: typeof BetterSqlite3;
  try {
    Database = (await import('better-sqlite3')).default;
  } catch (err) {
    throw new MidairError(
      'NOT_SUPPORTED',
      'the SQLite adapter needs the better-sqlite3 package: run `npm install better-sqlite3`',
      { cause: err },
    );
  }
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { fileMustExist: options.mustExist ?? false });
  } catch (err) {
    if (options.mustExist)
      throw new MidairError(
        'CONFIG',
        `no SQLite database at ${path}; check the path (a store's file is never created for you)`,
        { cause: err },
      );
    throw err;
  }
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
