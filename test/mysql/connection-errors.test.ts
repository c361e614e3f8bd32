import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MidairError, type Store } from '../../src/index.js';
import { mysqlStore, openMysqlPool } from '../../src/mysql/index.js';
import { availability, openBackend, type Backend } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';
import { accounts, firstReadFailure, serverOf, urlWith as urlOf, type Account } from '../support/connection-failure.js';

const { run, reason } = availability('mysql');

/** A password no message or detail may show. */
const PASSWORD = 'pw-never-shown-5190';

/** The test server's URL with `change` applied. */
const urlWith = (change: (u: URL) => void): string => urlOf('mysql', change);

const server = (): string => serverOf('mysql', 3306);

/** The error a read through a store on `url` fails with; the store (and its pool) is closed after. */
async function failure(url: string, source = 'migrations.users.new.url'): Promise<MidairError> {
  const store = mysqlStore<number, Account>(await openMysqlPool(url, 1), accounts('accounts'), {
    ownsPool: true,
    source,
  });
  return firstReadFailure(store, PASSWORD);
}

describe.skipIf(!run)(
  `adoption 8: errors that name the thing — MariaDB/MySQL connections and constraints${run ? '' : ` — skipped: ${reason}`}`,
  () => {
    const id = inject('runId');

    it('regression: a missing database came out as UNKNOWN; now UNKNOWN_DATABASE names it, the server and the fix', async () => {
      const database = `midair_nope_${id}`;
      const err = await failure(urlWith((u) => (u.pathname = `/${database}`)));
      expect(err.code).toBe('UNKNOWN_DATABASE');
      expect(err.message).toBe(
        `migrations.users.new.url: database "${database}" does not exist on ${server()} — create it (CREATE DATABASE \`${database}\`) or fix the database name in the URL`,
      );
      expect(err.details).toMatchObject({ database, server: server(), driverCode: 'ER_BAD_DB_ERROR' });
    });

    it('regression: a wrong password came out as UNKNOWN; now AUTH_FAILED says an unknown user reads the same', async () => {
      // The test server's root has no password, so any password is refused (1045).
      const err = await failure(urlWith((u) => (u.password = PASSWORD)));
      expect(err.code).toBe('AUTH_FAILED');
      const user = new URL(SERVICE_URLS.mysql).username;
      expect(err.message).toBe(
        `migrations.users.new.url: access denied for user "${user}" on ${server()} — MariaDB and MySQL report an unknown user and a wrong password alike: check the user name and password in the URL, and that this user may connect from this host`,
      );
      expect(err.details).toMatchObject({ user, driverCode: 'ER_ACCESS_DENIED_ERROR' });
      expect(err.retryable).toBe(false);
    });

    it('an unknown user is AUTH_FAILED too, and the message says the URL gave no password', async () => {
      const user = `nobody_${id}`.slice(0, 32);
      const err = await failure(urlWith((u) => (u.username = user)));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toContain(`access denied for user "${user}" on ${server()} (the URL gives no password)`);
      expect(err.message).toContain('an unknown user and a wrong password alike');
    });

    it("regression: asking for TLS from a server without it had no code; now TLS names the URL's ssl option", async () => {
      const admin = await mysql.createConnection({ uri: SERVICE_URLS.mysql });
      const [rows] = await admin.query("SHOW VARIABLES LIKE 'have_ssl'");
      await admin.end();
      // This test needs the local server's TLS off (it is in the test setup); with it on, the connection would succeed.
      expect(
        (rows as { Value: string }[])[0]?.Value,
        'the test server has TLS on; this test needs one without',
      ).not.toBe('YES');
      const err = await failure(
        urlWith((u) => u.searchParams.set('ssl', JSON.stringify({ rejectUnauthorized: false }))),
      );
      expect(err.code).toBe('TLS');
      expect(err.message).toBe(
        `migrations.users.new.url: the server on ${server()} does not accept TLS but the URL asks for the ssl option — enable TLS on the server, or remove the ssl option from the URL`,
      );
    });

    it('regression: an unreachable port said only "the database connection failed"; now it names host, port and the check', async () => {
      const err = await failure(urlWith((u) => (u.port = '1')));
      expect(err.code).toBe('CONNECTION');
      expect(err.message).toBe(
        `migrations.users.new.url: cannot reach ${new URL(SERVICE_URLS.mysql).hostname}:1 (ECONNREFUSED) — is the server running and is the host/port right?`,
      );
    });

    describe('a unique violation names the constraint, the table and the key, never the value', () => {
      let backend: Backend;
      let store: Store<number, Account>;
      let table: string;
      const TAKEN = 'taken-5190@example.com';
      beforeAll(async () => {
        backend = await openBackend('mysql');
        table = backend.unique('accounts');
        await backend.ddl({
          mysql: `CREATE TABLE ${table} (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL, UNIQUE KEY ${table}_email_unique (email))`,
        });
        store = backend.store<number, Account>(accounts(table));
        await store.setup();
        await store.put({ id: 1, email: TAKEN });
      });
      afterAll(async () => {
        await store.close();
        await backend.close();
      });

      it('regression: the message quoted the server text with the value; now it names constraint, table and key only', async () => {
        const err = (await store.put({ id: 2, email: TAKEN }).catch((e: unknown) => e)) as MidairError;
        expect(err).toBeInstanceOf(MidairError);
        expect(err.code).toBe('UNIQUE_VIOLATION');
        expect(err.details).toMatchObject({ table, constraint: `${table}_email_unique`, key: 'n2', operation: 'put' });
        expect(err.message).toContain(`table ${table}, constraint ${table}_email_unique, key n2`);
        expect(err.message).not.toContain(TAKEN);
        expect(JSON.stringify(err.details)).not.toContain(TAKEN);
        // MariaDB's own message quotes the value; it stays in `cause` for debugging only.
        expect((err.cause as Error).message).toContain(TAKEN);
      });
    });
  },
);
