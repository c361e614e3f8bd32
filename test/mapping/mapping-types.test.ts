import { describe, expect, it } from 'vitest';
import { col, sqlMapping } from '../../src/index.js';

// The `@ts-expect-error` lines are the assertions here: `npm run typecheck` (part of `npm test`) fails when any of
// them compiles. The runtime part checks what the columns form builds.

interface Account {
  id: bigint;
  email: string;
  balance: string;
  note: string | null;
  createdAt: Date;
  tags?: string[];
  version: number;
}

/** Declared only to be type-checked, never run. */
function refusedAtCompileTime(): void {
  sqlMapping<Account>({
    key: 'id',
    table: 'accounts',
    // @ts-expect-error `balance` is left out: every field is named once
    columns: {
      id: col.bigint('id'),
      email: col.text('email'),
      note: col.text('note'),
      createdAt: col.timestamptz('created_at'),
      tags: col.json('tags'),
      version: col.integer('version'),
    },
  });
  sqlMapping<Account>({
    key: 'id',
    table: 'accounts',
    columns: {
      id: col.bigint('id'),
      // @ts-expect-error col.integer takes numbers; `email` is a string
      email: col.integer('email'),
      balance: col.numeric('balance'),
      note: col.text('note'),
      // @ts-expect-error timestamptz as text on a Date field
      createdAt: col.timestamptz('created_at', { as: 'string' }),
      tags: col.json('tags'),
      version: col.integer('version'),
    },
  });
  sqlMapping<Account>({
    key: 'id',
    // @ts-expect-error the tables form checks each codec against its field too: `id` is a bigint
    tables: [{ table: 'accounts', columns: { id: col.integer('id'), email: col.text('email') } }],
  });
  // @ts-expect-error the key names a field of the entity
  sqlMapping<Account>({ key: 'uid', tables: [{ table: 'accounts', columns: { id: col.bigint('id') } }] });
}

describe('adoption 6: mapping types', () => {
  it('regression: sqlMapping<Account> compiled with a field left out and with col.integer on a string field; the columns form refuses both', () => {
    expect(typeof refusedAtCompileTime).toBe('function');
    const accounts = sqlMapping<Account>({
      key: 'id',
      version: 'version',
      table: 'accounts',
      columns: {
        id: col.bigint('id'),
        email: col.text('email'),
        balance: col.numeric('balance'),
        note: col.text('body').in('account_notes'),
        createdAt: col.timestamptz('created_at'),
        tags: col.json('tags').in('account_notes'),
        version: col.integer('version'),
      },
      joined: { account_notes: { key: 'account_id' } },
    });
    expect(
      accounts.tables.map((t) => ({ table: t.table, columns: t.fields.map((f) => `${f.field}:${f.column}`) })),
    ).toEqual([
      {
        table: 'accounts',
        columns: ['id:id', 'email:email', 'balance:balance', 'createdAt:created_at', 'version:version'],
      },
      { table: 'account_notes', columns: ['id:account_id', 'note:body', 'tags:tags'] },
    ]);
    expect(accounts.keyFields).toEqual(['id']);
  });

  it('the columns form refuses, at run time, what types cannot see: a key field in another table, a join that names no table in use', () => {
    interface Doc {
      id: number;
      body: string;
    }
    expect(() =>
      sqlMapping<Doc>({
        key: 'id',
        table: 'docs',
        columns: { id: col.integer('id').in('other'), body: col.text('body') },
      }),
    ).toThrow(/key field "id" is placed .in\('other'\)/);
    expect(() =>
      sqlMapping<Doc>({
        key: 'id',
        table: 'docs',
        columns: { id: col.integer('id'), body: col.text('body') },
        joined: { doc_bodies: { key: 'doc_id' } },
      }),
    ).toThrow(/joined names table doc_bodies, but no field is placed .in\('doc_bodies'\)/);
  });
});
