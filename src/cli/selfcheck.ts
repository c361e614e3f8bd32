import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffEntities } from '../compare.js';
import { col, sqlMapping } from '../mapping/mapping.js';
import { sqliteStore, openSqlite } from '../sqlite/index.js';
import type { BulkWriteResult, CheckReport, Store } from '../store.js';

/** The entity the self-check moves: one `users` table in old, `users` + `user_profiles` in new. */
export interface DemoUser {
  id: bigint;
  email: string;
  name: string;
  bio: string | null;
  prefs: unknown;
  createdAt: Date;
  version: number;
}

export interface SelfCheckOptions {
  readonly rows?: number;
  /** Folder for the two SQLite files; default a fresh temporary folder, removed afterwards. */
  readonly dir?: string;
  /** Called with each step's line of progress. */
  readonly log?: (line: string) => void;
  readonly seed?: number;
}

export interface SelfCheckStep {
  readonly step: string;
  readonly ms: number;
  readonly detail: Record<string, number | string | boolean>;
}

export interface SelfCheckResult {
  readonly ok: boolean;
  readonly rows: number;
  readonly steps: readonly SelfCheckStep[];
  readonly checks: readonly CheckReport[];
  readonly compare: { readonly equal: number; readonly missing: number; readonly extra: number; readonly different: number };
  readonly liveUpdates: number;
  readonly liveDeletes: number;
  readonly resurrected: number;
}

const OLD_SCHEMA = `CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, bio TEXT, prefs TEXT,
  created_at TEXT NOT NULL, version INTEGER NOT NULL)`;
const NEW_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, full_name TEXT NOT NULL,
     created_at TEXT NOT NULL, version INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS user_profiles (user_id INTEGER PRIMARY KEY, bio TEXT, prefs TEXT)`,
];

/** A small deterministic generator so a run can be repeated exactly. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
}

function makeUser(id: number, version: number): DemoUser {
  return {
    id: BigInt(id),
    email: `user${id}@example.com`,
    name: `User ${id}`,
    bio: id % 7 === 0 ? null : `Bio of user ${id} — ${'lorem ipsum '.repeat(1 + (id % 5))}`,
    prefs: { theme: id % 2 ? 'dark' : 'light', langs: ['en', id % 3 ? 'fr' : 'de'], notify: { email: id % 4 === 0 } },
    createdAt: new Date(Date.UTC(2020, 0, 1) + id * 60_000),
    version,
  };
}

function addInto(total: { inserted: number; updated: number; skippedExisting: number; skippedTombstoned: number }, r: BulkWriteResult): void {
  total.inserted += r.inserted;
  total.updated += r.updated;
  total.skippedExisting += r.skippedExisting;
  total.skippedTombstoned += r.skippedTombstoned;
}

/**
 * The adapters' self-check on two embedded SQLite files: seeds an old
 * `users` table, copies it into a new split schema with the conditional bulk
 * write while a live writer updates and deletes the same keys in both, copies
 * again (nothing changes: idempotent), then compares every entity and checks
 * that no deleted key came back. Real work, no server needed.
 *
 * @example
 * ```ts
 * const result = await runSelfCheck({ rows: 20_000, log: console.log });
 * if (!result.ok) process.exitCode = 1;
 * ```
 */
export async function runSelfCheck(options: SelfCheckOptions = {}): Promise<SelfCheckResult> {
  const rows = options.rows ?? 20_000;
  const log = options.log ?? (() => undefined);
  const random = rng(options.seed ?? 42);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'midair-selfcheck-'));
  const steps: SelfCheckStep[] = [];
  const step = async <T>(name: string, fn: () => Promise<T>, detail: (t: T) => Record<string, number | string | boolean>): Promise<T> => {
    const start = performance.now();
    const value = await fn();
    const s = { step: name, ms: Math.round(performance.now() - start), detail: detail(value) };
    steps.push(s);
    log(`${name.padEnd(34)} ${String(s.ms).padStart(6)} ms  ${Object.entries(s.detail).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    return value;
  };

  const oldDb = await openSqlite(join(dir, 'old.sqlite'));
  const newDb = await openSqlite(join(dir, 'new.sqlite'));
  oldDb.exec(OLD_SCHEMA);
  for (const sql of NEW_SCHEMA) newDb.exec(sql);
  const oldStore: Store<bigint, DemoUser> = sqliteStore(
    oldDb,
    sqlMapping<DemoUser>({
      key: 'id',
      version: 'version',
      tables: [
        {
          table: 'users',
          columns: {
            id: col.bigint('id'),
            email: col.text('email'),
            name: col.text('name'),
            bio: col.text('bio'),
            prefs: col.json('prefs'),
            createdAt: col.timestamptz('created_at'),
            version: col.integer('version'),
          },
        },
      ],
    }),
    { name: 'old (sqlite users)', ownsDatabase: true },
  );
  const newStore: Store<bigint, DemoUser> = sqliteStore(
    newDb,
    sqlMapping<DemoUser>({
      key: 'id',
      version: 'version',
      tables: [
        {
          table: 'users',
          columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('full_name'), createdAt: col.timestamptz('created_at'), version: col.integer('version') },
        },
        { table: 'user_profiles', columns: { id: col.bigint('user_id'), bio: col.text('bio'), prefs: col.json('prefs') } },
      ],
    }),
    { name: 'new (sqlite users + user_profiles)', ownsDatabase: true },
  );

  try {
    await step('setup tombstone tables', async () => Promise.all([oldStore.setup(), newStore.setup()]), () => ({ created: 2 }));
    await step(
      'seed old users',
      async () => {
        for (let i = 1; i <= rows; i += 1000) {
          await oldStore.writeIfNewer(Array.from({ length: Math.min(1000, rows - i + 1) }, (_, j) => makeUser(i + j, 1)));
        }
        return oldStore.count();
      },
      (count) => ({ rows: count }),
    );
    const checks = await step(
      'check mappings against schemas',
      async () => Promise.all([oldStore.check(), newStore.check()]),
      (reports) => ({ ok: reports.every((r) => r.ok), problems: reports.reduce((n, r) => n + r.problems.length, 0) }),
    );
    for (const report of checks) for (const p of report.problems) log(`  ${report.store}: ${p.severity} ${p.code}: ${p.message}`);

    // A live writer changes and deletes keys in both stores while the copy runs, as dual writes would.
    const deleted = new Set<bigint>();
    let liveUpdates = 0;
    let copying = true;
    const live = (async () => {
      for (let op = 0; copying; op++) {
        const id = BigInt(1 + Math.floor(random() * rows));
        const current = await oldStore.get(id);
        if (current && random() < 0.2) {
          await oldStore.delete(id);
          await newStore.delete(id, { version: current.version + 1 });
          deleted.add(id);
        } else if (current) {
          const next = { ...current, name: `${current.name}*`, version: current.version + 1 };
          await oldStore.put(next);
          await newStore.writeIfNewer([next]);
          liveUpdates++;
        }
        if (op % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    const copy = async (): Promise<{ inserted: number; updated: number; skippedExisting: number; skippedTombstoned: number }> => {
      const total = { inserted: 0, updated: 0, skippedExisting: 0, skippedTombstoned: 0 };
      for await (const chunk of oldStore.scan({ chunkSize: 1000 })) {
        addInto(total, await newStore.writeIfNewer(chunk));
        await new Promise((resolve) => setImmediate(resolve));
      }
      return total;
    };
    await step('copy old → new beside live writes', async () => {
      try {
        return await copy();
      } finally {
        copying = false;
        await live;
      }
    }, (t) => ({ ...t, liveUpdates, liveDeletes: deleted.size }));
    await step('copy again (idempotent)', copy, (t) => t);

    const compare = await step(
      'compare every entity',
      async () => {
        const result = { equal: 0, missing: 0, extra: 0, different: 0 };
        const newKeys = new Set<bigint>();
        for await (const chunk of newStore.scan({ chunkSize: 1000 })) for (const u of chunk) newKeys.add(u.id);
        for await (const chunk of oldStore.scan({ chunkSize: 1000 })) {
          const mirrored = await newStore.getMany(chunk.map((u) => u.id));
          chunk.forEach((u, i) => {
            const m = mirrored[i];
            newKeys.delete(u.id);
            if (!m) result.missing++;
            else if (diffEntities(u, m).length > 0) result.different++;
            else result.equal++;
          });
        }
        result.extra = newKeys.size;
        return result;
      },
      (r) => r,
    );
    const resurrected = await step(
      'check deleted keys stay deleted',
      async () => {
        let back = 0;
        for (const id of deleted) if ((await oldStore.get(id)) || (await newStore.get(id)) || !(await newStore.getTombstone(id))) back++;
        return back;
      },
      (n) => ({ deleted: deleted.size, resurrected: n }),
    );
    const ok = checks.every((c) => c.ok) && compare.missing + compare.extra + compare.different === 0 && compare.equal === rows - deleted.size && resurrected === 0;
    return { ok, rows, steps, checks, compare, liveUpdates, liveDeletes: deleted.size, resurrected };
  } finally {
    await oldStore.close();
    await newStore.close();
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}
