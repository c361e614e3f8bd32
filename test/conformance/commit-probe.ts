import { describe, expect, it } from 'vitest';
import type { Backend } from '../support/backends.js';
import { versionedRows } from './fixtures.js';

/** Every row of `table`, sorted, as the database prints it. */
async function dump(backend: Backend, table: string): Promise<string> {
  const rows = await backend.raw(`SELECT * FROM ${table}`);
  return JSON.stringify(rows.map((r) => r.map((c) => (typeof c === 'bigint' ? c.toString() : c))).sort());
}

/**
 * The commit probe (SQL stores): a write that commits to midair's probe
 * table, and to nothing else — the user's rows, the tombstones and the
 * fences are exactly as they were.
 */
export function commitProbeSuite(get: () => Backend): void {
  describe('the commit probe', () => {
    it('commits a write of its own probe table, visible to every connection, and touches no user row, tombstone or fence', async () => {
      const backend = get();
      const { table, store } = await versionedRows(backend);
      const probe = store.commitProbe;
      if (!probe) throw new Error(`${store.name} has no commit probe`);
      await store.put({ id: 1n, version: 1, v: 'a' });
      await store.delete(2n); // a tombstone
      await store.fencing?.raiseFence({ migration: 'users', epoch: 3 });
      const before = await Promise.all(
        [table, `${table}_midair_tombstones`, `${table}_midair_fences`].map((t) => dump(backend, t)),
      );
      const counter = async (): Promise<number[]> =>
        (await backend.raw(`SELECT n FROM ${table}_midair_probe`)).map((r) => Number(r[0]));
      await probe.commit();
      const first = await counter();
      expect(first).toHaveLength(1);
      await probe.commit();
      const second = await counter();
      // Every probe changes its row (so every commit writes the log), and each one has committed when it resolves.
      expect(second).toEqual([1 - (first[0] as number)]);
      const after = await Promise.all(
        [table, `${table}_midair_tombstones`, `${table}_midair_fences`].map((t) => dump(backend, t)),
      );
      expect(after).toEqual(before);
      expect(await store.fencing?.fenceOf('users')).toBe(3);
    });

    it('fails with SCHEMA_MISMATCH, naming setup(), on a store set up before the probe table existed; setup() adds it', async () => {
      const backend = get();
      const { table, store } = await versionedRows(backend);
      await backend.ddl({
        postgres: `DROP TABLE ${table}_midair_probe`,
        mysql: `DROP TABLE ${table}_midair_probe`,
        sqlite: `DROP TABLE ${table}_midair_probe`,
      });
      const error = await store.commitProbe?.commit().then(
        () => new Error('the probe did not fail'),
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'SCHEMA_MISMATCH' });
      expect((error as Error).message).toContain("run store.setup() to create midair's probe table");
      // The check does not ask for it: a store without it is paced by reads.
      expect(await store.check()).toMatchObject({ ok: true, problems: [] });
      await store.setup();
      await store.commitProbe?.commit();
      expect(await backend.raw(`SELECT count(*) FROM ${table}_midair_probe`)).toEqual([[expect.anything()]]);
    });
  });
}
