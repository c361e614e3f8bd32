import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { inject } from 'vitest';
import { memoryControlStore, type ControlStore } from '../../src/index.js';
import { mysqlControlStore } from '../../src/mysql/index.js';
import { postgresControlStore } from '../../src/postgres/index.js';
import { sqliteControlStore } from '../../src/sqlite/index.js';
import type { BACKEND_KINDS } from '../support/backends.js';

/** The kinds that hold a control store (Redis is a store only). */
export type ControlKind = (typeof BACKEND_KINDS)[number];
import { SERVICE_URLS } from '../support/services.js';

/** What a test may pass to a control store: its clock. */
export interface StoreOptions {
  readonly now?: () => number;
}

/** One database (or process memory) holding control tables for one test file, in its own schema/database/file. */
export interface ControlBackend {
  readonly kind: ControlKind;
  /** A fresh table prefix, so each test starts from empty tables. */
  uniquePrefix(): string;
  /** A control store over this backend's main connection pool. */
  store(tablePrefix: string, options?: StoreOptions): ControlStore;
  /** A control store over a connection pool (SQLite: a database handle) of its own — another process, as far as the database can tell. */
  separate(tablePrefix: string, options?: StoreOptions): ControlStore;
  /** Runs a statement on the main connection (SQL backends only): to build the tables an older midair left. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A clock that moves only when told to, from a fixed start. */
export interface ManualClock {
  readonly now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

function namespace(): string {
  return `midair_${inject('runId')}_${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export async function openControlBackend(kind: ControlKind): Promise<ControlBackend> {
  let n = 0;
  const uniquePrefix = (): string => `mc${++n}_`;
  switch (kind) {
    case 'memory': {
      // One store per prefix, as one database holds one set of tables.
      const stores = new Map<string, ControlStore>();
      const store = (prefix: string, options: StoreOptions = {}): ControlStore => {
        let s = stores.get(prefix);
        if (!s) stores.set(prefix, (s = memoryControlStore(options)));
        return s;
      };
      const exec = async (): Promise<void> => Promise.reject(new Error('the memory store has no tables'));
      return { kind, uniquePrefix, store, separate: store, exec, close: async () => Promise.resolve() };
    }
    case 'sqlite': {
      // A file, so that a second handle (a second connection) sees the same tables.
      const dir = mkdtempSync(join(tmpdir(), 'midair-control-'));
      const file = join(dir, 'control.db');
      const open = (): Database.Database => {
        const db = new Database(file);
        db.pragma('journal_mode = WAL');
        db.pragma('busy_timeout = 5000');
        return db;
      };
      const main = open();
      const handles: Database.Database[] = [main];
      return {
        kind,
        uniquePrefix,
        store: (tablePrefix, options) => sqliteControlStore(main, { tablePrefix, ...options }),
        separate: (tablePrefix, options) => {
          const db = open();
          handles.push(db);
          return sqliteControlStore(db, { tablePrefix, ...options });
        },
        exec: async (sql) => {
          main.exec(sql);
          return Promise.resolve();
        },
        close: async () => {
          for (const db of handles) db.close();
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
    }
    case 'postgres': {
      const schema = namespace();
      const admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const pool = (): pg.Pool =>
        new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 10, options: `-c search_path=${schema}` });
      const main = pool();
      const others: pg.Pool[] = [];
      return {
        kind,
        uniquePrefix,
        store: (tablePrefix, options) => postgresControlStore(main, { tablePrefix, ...options }),
        separate: (tablePrefix, options) => {
          const p = pool();
          others.push(p);
          return postgresControlStore(p, { tablePrefix, ...options });
        },
        exec: async (sql) => {
          await main.query(sql);
        },
        close: async () => {
          await Promise.all([main, ...others].map((p) => p.end()));
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          await admin.end();
        },
      };
    }
    case 'mysql': {
      const database = namespace();
      const admin = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
      // A case-insensitive default collation on purpose: the control tables must not inherit it.
      await admin.query(`CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`);
      const pool = (): mysql.Pool => mysql.createPool({ uri: SERVICE_URLS.mysql, database, connectionLimit: 10 });
      const main = pool();
      const others: mysql.Pool[] = [];
      return {
        kind,
        uniquePrefix,
        store: (tablePrefix, options) => mysqlControlStore(main, { tablePrefix, ...options }),
        separate: (tablePrefix, options) => {
          const p = pool();
          others.push(p);
          return mysqlControlStore(p, { tablePrefix, ...options });
        },
        exec: async (sql) => {
          await main.query(sql);
        },
        close: async () => {
          await Promise.all([main, ...others].map((p) => p.end()));
          await admin.query(`DROP DATABASE ${database}`);
          await admin.end();
        },
      };
    }
  }
}
