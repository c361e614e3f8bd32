import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { col, defineMigration, memoryControlStore, sqlMapping, type Store } from '../../src/index.js';
import { compareKeyCodecs } from '../../src/mapping/mapping.js';
import { sqliteStore } from '../../src/sqlite/index.js';
import type { KeyMappings } from '../../src/backfill/key-check.js';

interface Doc {
  id: string;
  title: string;
}

const open: Database.Database[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
});

function db(): Database.Database {
  const d = new Database(':memory:');
  d.exec('CREATE TABLE docs (id TEXT PRIMARY KEY, title TEXT NOT NULL)');
  open.push(d);
  return d;
}

const oldMapping = sqlMapping<Doc>({
  key: 'id',
  tables: [{ table: 'docs', columns: { id: col.text('id'), title: col.text('title') } }],
});
const newMapping = sqlMapping<Doc>({
  key: 'id',
  tables: [{ table: 'docs', columns: { id: col.uuid('id'), title: col.text('title') } }],
});
const ids = [
  '0A1B2C3D-0000-4000-8000-00000000000A',
  '0A1B2C3D-0000-4000-8000-00000000000B',
  '0A1B2C3D-0000-4000-8000-00000000000C',
  '0A1B2C3D-0000-4000-8000-00000000000D',
  '0A1B2C3D-0000-4000-8000-00000000000E',
];

async function setup(): Promise<{
  old: Store<string, Doc>;
  neu: Store<string, Doc>;
  newDb: Database.Database;
  migration: ReturnType<typeof defineMigration<string, Doc>>;
}> {
  const old = sqliteStore<string, Doc>(db(), oldMapping);
  const newDb = db();
  const neu = sqliteStore<string, Doc>(newDb, newMapping);
  await old.setup();
  await neu.setup();
  for (const id of ids) await old.put({ id, title: 'a title' });
  expect((await old.check()).ok).toBe(true);
  expect((await neu.check()).ok).toBe(true);
  const migration = defineMigration<string, Doc>({
    name: 'docs',
    old,
    new: neu,
    control: memoryControlStore(),
    pollMs: 10,
    instanceExpiryMs: 200,
    repair: { enabled: false },
  });
  await migration.start();
  await migration.advance({ reason: 'test' });
  return { old, neu, newDb, migration };
}

const tombstones = (d: Database.Database): number =>
  (d.prepare('SELECT count(*) AS n FROM docs_midair_tombstones').get() as { n: number }).n;

describe('key codecs', () => {
  it('regression: a key-codec mismatch (text in old, lower-casing uuid in new) emptied new; now the backfill is refused, nothing written', async () => {
    const { neu, newDb, migration } = await setup();
    const keyMappings: KeyMappings = { old: oldMapping, new: newMapping, newDialect: 'sqlite' };
    const result = await migration.backfill({ keyMappings });
    expect(result).toMatchObject({
      status: 'refused',
      rowsRead: 0,
      inserted: 0,
      deleted: 0,
      error: { code: 'SCHEMA_MISMATCH' },
    });
    expect(result.error?.message).toContain('key field "id" is mapped as text in old and uuid in new');
    expect(await neu.count()).toBe(0);
    expect(tombstones(newDb)).toBe(0);
    await expect(migration.checkKeys(keyMappings)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' });
    await migration.close();
  });

  it('regression: a key-codec mismatch emptied new; without the mappings, the prune guard stops before deleting', async () => {
    const { neu, newDb, migration } = await setup();
    const result = await migration.backfill();
    expect(result).toMatchObject({ status: 'stopped', deleted: 0, error: { code: 'BLOCKED' } });
    expect(await neu.count()).toBe(5);
    expect(tombstones(newDb)).toBe(0);
    await migration.close();
  });

  it('compares key fields by name, type and canonical form', () => {
    expect(compareKeyCodecs(oldMapping as never, newMapping as never)).toEqual([
      { field: 'id', old: 'text', new: 'uuid', why: 'key field "id" is mapped as text in old and uuid in new' },
    ]);
    expect(compareKeyCodecs(oldMapping as never, oldMapping as never)).toEqual([]);
    const renamed = sqlMapping<{ docId: string; title: string }>({
      key: 'docId',
      tables: [{ table: 'docs', columns: { docId: col.text('id'), title: col.text('title') } }],
    });
    expect(compareKeyCodecs(oldMapping as never, renamed as never)[0]?.why).toBe(
      'the key fields differ: old (id), new (docId)',
    );
  });

  it('regression: a dead letter recorded only the error code; now the field too (never the value)', async () => {
    const old = sqliteStore<string, Doc>(db(), oldMapping);
    const strict = sqlMapping<Doc>({
      key: 'id',
      tables: [{ table: 'docs', columns: { id: col.text('id'), title: col.uuid('title') } }],
    });
    const neu = sqliteStore<string, Doc>(db(), strict);
    await old.setup();
    await neu.setup();
    await old.put({ id: 'a', title: 'not a uuid at all' });
    const control = memoryControlStore();
    const migration = defineMigration<string, Doc>({
      name: 'docs',
      old,
      new: neu,
      control,
      pollMs: 10,
      instanceExpiryMs: 200,
      repair: { enabled: false },
    });
    await migration.start();
    await migration.advance({ reason: 'test' });
    expect(await migration.backfill()).toMatchObject({ status: 'complete-with-dead-letters', deadLetters: 1 });
    const [letter] = await control.deadLetters('docs', 10);
    expect(letter).toMatchObject({ keyId: 'sa', reason: 'ENCODING:title' });
    expect(JSON.stringify(letter)).not.toContain('not a uuid');
    await migration.close();
  });
});
