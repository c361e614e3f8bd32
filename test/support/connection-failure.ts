import { expect } from 'vitest';
import { col, MidairError, sqlMapping, type SqlMapping, type Store } from '../../src/index.js';
import { SERVICE_URLS, type Service } from './services.js';

/** The entity the connection-error tests read. */
export interface Account {
  id: number;
  email: string;
}

export const accounts = (table: string): SqlMapping<Account> =>
  sqlMapping<Account>({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), email: col.text('email') } }] });

/** The test server's URL with `change` applied. */
export function urlWith(service: Service, change: (u: URL) => void): string {
  const u = new URL(SERVICE_URLS[service]);
  change(u);
  return u.toString();
}

/** The test server as messages name it: `host:port`. */
export function serverOf(service: Service, defaultPort: number): string {
  const u = new URL(SERVICE_URLS[service]);
  return `${u.hostname}:${u.port || defaultPort}`;
}

/**
 * The error a first read through `store` fails with, checked to be a
 * MidairError that shows `secret` neither in its message nor its details;
 * the store (and its pool) is closed after.
 */
export async function firstReadFailure(store: Store<number, Account>, secret: string): Promise<MidairError> {
  try {
    const err = await store.get(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MidairError);
    const e = err as MidairError;
    expect(e.message).not.toContain(secret);
    expect(JSON.stringify(e.details)).not.toContain(secret);
    return e;
  } finally {
    await store.close();
  }
}
