import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CallFigures, StoreCallFigures } from '../../src/index.js';
import { bucketOf, upperEdgeMs } from '../../src/core/latency-buckets.js';
import { sqliteControlStore } from '../../src/sqlite/index.js';
import { midair, writeSqliteUsers } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const kind = (calls: number, ms: number, errors = 0): CallFigures => ({
  calls,
  errors,
  buckets: [[bucketOf(ms), calls]],
});

/** A users migration on SQLite files in shadow-read, and an application instance's heartbeat carrying `figures`. */
async function inShadowRead(figures: (version: number) => StoreCallFigures): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'midair-capacity-'));
  dirs.push(dir);
  writeSqliteUsers(dir, (old) => old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)'));
  for (const reason of ['test: dual writes', 'test: shadow reads'])
    expect((await midair(dir, ['phase', 'advance', '--force', '--reason', reason])).code).toBe(0);
  const db = new Database(join(dir, 'control.db'));
  const control = sqliteControlStore(db);
  const version = (await control.getState('users'))?.version ?? 0;
  await control.heartbeat({
    migration: 'users',
    instanceId: 'app-1',
    host: 'web-1',
    phaseVersion: version,
    inFlightWrites: 0,
    storeCalls: figures(version),
  });
  db.close();
  return dir;
}

interface StatusJson {
  capacity: unknown;
  gates: { gate: string; ok: boolean; detail: string }[];
}

describe('the capacity figures in `midair status` and `midair plan`', () => {
  it('status (JSON and text) shows both stores’ calls, old’s p99 at new’s mix and the limits; the gate into ramp says why it blocks', async () => {
    // Old serves the reads at 1 ms and the first writes at 2 ms; new takes the second writes at 10 ms.
    const dir = await inShadowRead((phaseVersion) => ({
      phaseVersion,
      old: { reads: kind(3000, 1), writes: kind(1000, 2, 1) },
      new: { reads: kind(40, 1), writes: kind(1000, 10, 2) },
    }));
    const r = await midair(dir, ['status', '--json']);
    expect(r.code).toBe(0);
    const s = r.json<StatusJson>();
    const edge = (ms: number): number => upperEdgeMs(bucketOf(ms));
    expect(s.capacity).toEqual({
      old: {
        calls: 4000,
        errors: 1,
        p99Ms: edge(2),
        reads: { calls: 3000, errors: 0, p99Ms: edge(1) },
        writes: { calls: 1000, errors: 1, p99Ms: edge(2) },
      },
      new: {
        calls: 1040,
        errors: 2,
        p99Ms: edge(10),
        reads: { calls: 40, errors: 0, p99Ms: edge(1) },
        writes: { calls: 1000, errors: 2, p99Ms: edge(10) },
      },
      baseline: { p99Ms: edge(2), writeShare: 1000 / 1040 },
      // The test config sets minCapacityCalls to 20; the other two are the defaults.
      limits: { latencyFactor: 2, maxNewErrorRate: 0.001, minCalls: 20 },
    });
    const gate = s.gates.find((g) => g.gate === 'capacity');
    expect(gate).toMatchObject({ ok: false });
    expect(gate?.detail).toMatch(
      /^new is slower than the limit, and new fails more often than the limit: new p99 10\.\d ms vs old 2\.\d\d ms \(4\.\d\d×, limit 2\.0×\) over 1 040 calls on new and 4 000 on old, old's p99 taken at new's mix of 96 % writes \(2\.\d\d ms at its own\); new's errors 2 \(0\.19 %, limit 0\.10 %\)$/,
    );
    const text = await midair(dir, ['status']);
    expect(text.stdout).toMatch(
      /\n {2}capacity {3}new p99 10\.\d ms over 1 040 calls, 2 failed \(0\.19 %\); old p99 2\.\d\d ms over 4 000 calls, 1 failed \(0\.03 %\), 2\.\d\d ms at new's mix \(96 % writes\) in this phase \(limits 2× old's p99, 0\.10 % failed, 20 calls\)\n/,
    );
    expect(text.stdout).toMatch(/✗ capacity +new is slower than the limit/);

    const plan = await midair(dir, ['plan', '--format', 'json']);
    const section = plan
      .json<{ sections: { title: string; items: { item: string; state: string; figure?: string }[] }[] }>()
      .sections.find((x) => x.title === 'Capacity');
    expect(section?.items[1]).toEqual({
      item: "new's p99 within 2× old's and at most 0.10 % of its calls failing, over at least 20 calls on each store in the phase",
      state: 'pending', // due on the way into ramp, not yet failed
      figure: gate?.detail,
    });
  });

  it('status says when no live instance reports its calls, and the gate blocks on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-capacity-'));
    dirs.push(dir);
    writeSqliteUsers(dir, (old) => old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT)'));
    for (const reason of ['test: dual writes', 'test: shadow reads'])
      expect((await midair(dir, ['phase', 'advance', '--force', '--reason', reason])).code).toBe(0);
    const s = (await midair(dir, ['status', '--json'])).json<StatusJson>();
    expect(s.capacity).toBeNull();
    expect(s.gates.find((g) => g.gate === 'capacity')?.detail).toMatch(/^no live instance reports its calls/);
    expect((await midair(dir, ['status'])).stdout).toContain('  capacity   not reported by any live instance\n');
  });
});
