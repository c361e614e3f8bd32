import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MidairError, type Store } from '../../src/index.js';
import { openPostgresPool, postgresStore } from '../../src/postgres/index.js';
import { classifyPostgresError } from '../../src/postgres/postgres-errors.js';
import { wrapSqlError } from '../../src/sql/sql-errors.js';
import { availability, openBackend, type Backend } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { accounts, firstReadFailure, serverOf, urlWith as urlOf, type Account } from '../support/connection-failure.js';

const { run, reason } = availability('postgres');

/** A password no message, detail or log line may show (the server trusts every local login, so it is ignored). */
const PASSWORD = 'pw-never-shown-7361';

/** The test server's URL with `change` applied, and a password in it. */
const urlWith = (change: (u: URL) => void): string =>
  urlOf('postgres', (u) => {
    u.password = PASSWORD;
    change(u);
  });

const server = (): string => serverOf('postgres', 5432);

/** The error a read through a store on `url` fails with; the store (and its pool) is closed after. */
async function failure(url: string, source?: string): Promise<MidairError> {
  const pool = await openPostgresPool(url, 1);
  const store = postgresStore<number, Account>(pool, accounts('accounts'), {
    ownsPool: true,
    ...(source ? { source } : {}),
  });
  return firstReadFailure(store, PASSWORD);
}

describe.skipIf(!run)(
  `adoption 8: errors that name the thing — PostgreSQL connections and constraints${run ? '' : ` — skipped: ${reason}`}`,
  () => {
    const id = inject('runId');

    it('regression: a missing database came out as UNKNOWN; now UNKNOWN_DATABASE names it, the server and the fix', async () => {
      const database = `midair_nope_${id}`;
      const err = await failure(
        urlWith((u) => (u.pathname = `/${database}`)),
        'migrations.users.old.url',
      );
      expect(err.code).toBe('UNKNOWN_DATABASE');
      expect(err.message).toBe(
        `migrations.users.old.url: database "${database}" does not exist on ${server()} — create it (CREATE DATABASE "${database}") or fix the database name in the URL`,
      );
      expect(err.details).toMatchObject({ database, server: server(), operation: 'get', driverCode: '3D000' });
      expect(err.retryable).toBe(false);
    });

    it('regression: a missing role came out as UNKNOWN; now AUTH_FAILED names the role and the fix', async () => {
      const role = `midair_norole_${id}`;
      const err = await failure(urlWith((u) => (u.username = role)));
      expect(err.code).toBe('AUTH_FAILED');
      // Without a config field to name, the message starts with the operation and the store.
      expect(err.message).toBe(
        `get on postgres:accounts failed: role "${role}" does not exist on ${server()} — create it (CREATE ROLE "${role}" LOGIN) or fix the user name in the URL`,
      );
      expect(err.details).toMatchObject({ user: role, driverCode: '28000' });
    });

    it('regression: sslmode=require against a server without TLS had no code; now TLS says which side to change', async () => {
      const admin = new pg.Client({ connectionString: SERVICE_URLS.postgres });
      await admin.connect();
      const ssl = (await admin.query<{ ssl: string }>('SHOW ssl')).rows[0]?.ssl;
      await admin.end();
      // This test needs the local server's TLS off (it is in the test setup); with it on, the connection would succeed.
      expect(ssl, 'the test server has ssl = on; this test needs a server without TLS').toBe('off');
      const err = await failure(
        urlWith((u) => u.searchParams.set('sslmode', 'require')),
        'old.url',
      );
      expect(err.code).toBe('TLS');
      expect(err.message).toBe(
        `old.url: the server on ${server()} does not accept TLS but the URL asks for sslmode=require — enable TLS on the server, or remove sslmode=require from the URL`,
      );
    });

    it('regression: an unreachable port said only "the database connection failed"; now it names host, port and the check', async () => {
      const err = await failure(urlWith((u) => (u.port = '1')));
      expect(err.code).toBe('CONNECTION');
      expect(err.retryable).toBe(true);
      expect(err.message).toBe(
        `get on postgres:accounts failed: cannot reach ${new URL(SERVICE_URLS.postgres).hostname}:1 (ECONNREFUSED) — is the server running and is the host/port right?`,
      );
    });

    it('a port out of range or a broken IPv6 host is a CONFIG error before any connection, naming the field and not the URL', async () => {
      const cases = [
        [`postgres://postgres:${PASSWORD}@127.0.0.1:99999/test`, /the port 99999 is out of range: use 1–65535/],
        [
          `postgres://postgres:${PASSWORD}@[::1:5432/test`,
          /the IPv6 host has no closing "\]": write it as \[::1\]:5432/,
        ],
      ] as const;
      for (const [url, said] of cases) {
        const err = await openPostgresPool(url, 1, 'old.url').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(MidairError);
        expect((err as MidairError).code).toBe('CONFIG');
        expect((err as MidairError).message).toMatch(/^old\.url: /);
        expect((err as MidairError).message).toMatch(said);
        expect((err as MidairError).message).not.toContain(PASSWORD);
      }
    });

    it('a wrong password (28P01) is AUTH_FAILED naming the user', () => {
      // The local server trusts every login, so it never asks for a password: a wrong one cannot be produced
      // for real without changing its configuration. The error pg hands over for SQLSTATE 28P01 is classified here.
      const driverError = Object.assign(new Error('password authentication failed for user "app"'), {
        code: '28P01',
        severity: 'FATAL',
      });
      expect(classifyPostgresError(driverError)).toMatchObject({
        code: 'AUTH_FAILED',
        problem: { kind: 'bad-password', user: 'app' },
      });
      const err = wrapSqlError(driverError, classifyPostgresError, {
        store: 'old (users)',
        operation: 'check',
        engine: 'postgres',
        target: { server: 'db.internal:5432' },
        source: 'migrations.users.old.url',
      });
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toBe(
        `migrations.users.old.url: password authentication failed for user "app" on db.internal:5432 — fix the password in the URL (percent-encoded) or the role's password on the server`,
      );
    });

    describe('a unique violation names the constraint, the table and the key, never the value', () => {
      let backend: Backend;
      let store: Store<number, Account>;
      let table: string;
      const TAKEN = 'taken-7361@example.com';
      beforeAll(async () => {
        backend = await openBackend('postgres');
        table = backend.unique('accounts');
        await backend.ddl({
          postgres: `CREATE TABLE ${table} (id integer PRIMARY KEY, email text NOT NULL CONSTRAINT ${table}_email_unique UNIQUE)`,
        });
        store = backend.store<number, Account>(accounts(table));
        await store.setup();
        await store.put({ id: 1, email: TAKEN });
      });
      afterAll(async () => {
        await store.close();
        await backend.close();
      });

      const noValue = (err: MidairError): void => {
        expect(err.message).not.toContain(TAKEN);
        expect(JSON.stringify(err.details)).not.toContain(TAKEN);
      };

      it('regression: one entity written: its key is named, the row value (in the driver detail) is not', async () => {
        const err = (await store.put({ id: 2, email: TAKEN }).catch((e: unknown) => e)) as MidairError;
        expect(err).toBeInstanceOf(MidairError);
        expect(err.code).toBe('UNIQUE_VIOLATION');
        expect(err.details).toMatchObject({ table, constraint: `${table}_email_unique`, key: 'n2', operation: 'put' });
        expect(err.message).toContain(`constraint ${table}_email_unique`);
        expect(err.message).toContain(`table ${table}`);
        expect(err.message).toContain('key n2');
        noValue(err);
        // The driver's own error says the value; it stays in `cause` for debugging only.
        expect(String((err.cause as { detail?: unknown }).detail)).toContain(TAKEN);
      });

      it('many entities in one statement: the constraint and table are named, and no key is guessed', async () => {
        const err = (await store
          .writeIfNewer([
            { id: 3, email: 'free-1@example.com' },
            { id: 4, email: TAKEN },
          ])
          .catch((e: unknown) => e)) as MidairError;
        expect(err).toBeInstanceOf(MidairError);
        expect(err.code).toBe('UNIQUE_VIOLATION');
        expect(err.details).toMatchObject({ table, constraint: `${table}_email_unique` });
        expect(err.details.key).toBeUndefined();
        noValue(err);
      });
    });
  },
);
