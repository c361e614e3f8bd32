import { defineMigration, memoryControlStore } from '../src/index.js';
import { postgresStore } from '../src/postgres/index.js';
import { pgPool, pgUsers, SCHEMA, usersMapping, type BenchUser } from './data.js';

/**
 * One backfill PostgreSQL → PostgreSQL in a process of its own, so its peak
 * resident set is the backfill's alone: `jiti bench/rss-child.ts <pg url>
 * <source table> <target table> <rows>` prints `{ "peakMb", "startMb", "ms" }`.
 */
const [url, source, target, rows] = process.argv.slice(2);
if (!url || !source || !target || !rows)
  throw new Error('usage: rss-child <pg url> <source table> <target table> <rows>');
const mb = (kb: number): number => Math.round(kb / 1024);
const startMb = mb(process.resourceUsage().maxRSS);
const pool = await pgPool(url);
await pgUsers(pool, target, 0);
const into = postgresStore<bigint, BenchUser>(pool, usersMapping(target, SCHEMA));
await into.setup();
const from = postgresStore<bigint, BenchUser>(pool, usersMapping(source, SCHEMA));
await from.setup();
const m = defineMigration({ name: 'bench-rss', old: from, new: into, control: memoryControlStore() });
await m.advance({ reason: 'bench' });
const t0 = performance.now();
const r = await m.backfill({ chunkSize: 5000, maxChunkSize: 20_000 });
const ms = Math.round(performance.now() - t0);
await m.close();
await pgUsers(pool, target, 0); // leaves no copy behind
await pool.end();
if (r.status !== 'complete' || r.inserted !== Number(rows))
  throw new Error(`backfill ${r.status}, ${r.inserted} of ${rows} inserted`);
process.stdout.write(`${JSON.stringify({ peakMb: mb(process.resourceUsage().maxRSS), startMb, ms })}\n`);
