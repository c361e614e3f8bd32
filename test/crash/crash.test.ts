import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { col, defineMigration, sqlMapping, type Migration, type Store } from '../../src/index.js';
import { postgresControlStore, postgresStore } from '../../src/postgres/index.js';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';

interface Doc {
  id: number;
  tag: string;
}

const CHILD = fileURLToPath(new URL('./writer-child.ts', import.meta.url));
/** The child runs from the TypeScript sources, as the other multi-process tests do. */
const JITI = fileURLToPath(new URL('../../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));
const KEYS = 40;
const pgAvailable = availability('postgres');

/** Starts one instance process and resolves it once it has acknowledged `writes` writes. */
function writer(schema: string, instance: string, writes: number): Promise<{ child: ChildProcess; acked: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [JITI, CHILD], {
      env: {
        ...process.env,
        MIDAIR_PG_URL: SERVICE_URLS.postgres,
        CRASH_SCHEMA: schema,
        CRASH_INSTANCE: instance,
        CRASH_KEYS: String(KEYS),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      acked.push(...lines.filter((l) => l.startsWith('acked ')));
      if (acked.length >= writes) resolve({ child, acked });
    });
    child.on('exit', (code, signal) => {
      if (acked.length < writes)
        reject(new Error(`instance ${instance} exited (${code ?? signal}) after ${acked.length} writes: ${stderr}`));
    });
  });
}

async function contents(store: Store<number, Doc>): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for await (const chunk of store.scan({ chunkSize: 500 })) for (const d of chunk) out.set(d.id, d.tag);
  return out;
}

describe.skipIf(!pgAvailable.run)(
  `crash safety on PostgreSQL${pgAvailable.run ? '' : ` — skipped: ${pgAvailable.reason}`}`,
  () => {
    const schema = `midair_crash_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    let admin: pg.Pool;
    let pools: pg.Pool[];
    let old: Store<number, Doc>;
    let neu: Store<number, Doc>;
    let operator: Migration<number, Doc>;
    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      // Old, new and the control store on pools of their own, as in separate databases (a sync holds new's connection while it reads old).
      pools = [0, 1, 2].map(
        () => new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 4, options: `-c search_path=${schema}` }),
      );
      const [oldPool, newPool, controlPool] = pools as [pg.Pool, pg.Pool, pg.Pool];
      for (const t of ['docs_old', 'docs_new'])
        await oldPool.query(`CREATE TABLE ${t} (id integer PRIMARY KEY, tag text NOT NULL)`);
      const mapping = (table: string) =>
        sqlMapping<Doc>({ key: 'id', tables: [{ table, columns: { id: col.integer('id'), tag: col.text('tag') } }] });
      old = postgresStore<number, Doc>(oldPool, mapping('docs_old'));
      neu = postgresStore<number, Doc>(newPool, mapping('docs_new'));
      await old.setup();
      await neu.setup();
      operator = defineMigration<number, Doc>({
        name: 'crash',
        instanceId: 'operator',
        old,
        new: neu,
        control: postgresControlStore(controlPool),
        pollMs: 50,
        repair: { enabled: false },
        autoHalt: false,
      });
      await operator.start();
      await operator.advance({ reason: 'crash test: dual writes' });
    });
    afterAll(async () => {
      await operator.close();
      for (const p of pools) await p.end();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    });

    it('regression: an instance killed between its two writes lost the second write — SIGKILLed processes leave their keys to be re-synced', async () => {
      const running: ChildProcess[] = [];
      try {
        const writers = await Promise.all(['w1', 'w2', 'w3'].map((id) => writer(schema, id, 40)));
        for (const w of writers) {
          running.push(w.child);
          w.child.kill('SIGKILL'); // mid-stream: several second writes are still sleeping or in flight
        }
        await Promise.all(
          writers.map(
            async (w) =>
              new Promise((resolve) =>
                w.child.exitCode !== null || w.child.signalCode !== null
                  ? resolve(undefined)
                  : w.child.once('exit', resolve),
              ),
          ),
        );
        const acked = writers.flatMap((w) => w.acked).map((l) => Number(l.split(' ')[1]));
        const before = await contents(old);
        for (const id of acked) expect(before.has(id)).toBe(true); // acknowledged: in the authoritative store
        const newBefore = await contents(neu);
        const behind = [...before].filter(([id, tag]) => newBefore.get(id) !== tag).length;
        console.log(
          `crash test: ${acked.length} acknowledged writes by 3 killed instances; new was behind old on ${behind} of ${before.size} keys before the drain`,
        );
        await operator.drainRepairs(); // what the dead instances left queued, delayed intents included
        const [o, n] = [await contents(old), await contents(neu)];
        expect([...n].sort()).toEqual([...o].sort());
      } finally {
        for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      }
    });
  },
);
