import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { inject } from 'vitest';
import { defineMigration, memoryStore, type PhaseState } from '../../src/index.js';
import { postgresControlStore } from '../../src/postgres/index.js';
import { availability } from '../support/backends.js';
import { SERVICE_URLS } from '../support/services.js';

const { run, reason } = availability('postgres');

describe.skipIf(!run)(`phase changes pushed by PostgreSQL LISTEN/NOTIFY${run ? '' : ` — skipped: ${reason}`}`, () => {
  const schema = `midair_${inject('runId')}_notify`;
  let admin: pg.Pool;
  let pool: pg.Pool;
  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: SERVICE_URLS.postgres, max: 1 });
    await admin.query(`CREATE SCHEMA ${schema}`);
    pool = new pg.Pool({ connectionString: SERVICE_URLS.postgres, options: `-c search_path=${schema}` });
  });
  afterAll(async () => {
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
  });

  it('an instance that polls only every 30 s still follows a phase change at once', async () => {
    const stores = {
      old: memoryStore<number, { id: number }>({ key: 'id' }),
      new: memoryStore<number, { id: number }>({ key: 'id' }),
    };
    const operator = await defineMigration({
      name: 'notify',
      ...stores,
      control: postgresControlStore(pool),
      instanceId: 'operator',
    }).start();
    const sleepy = await defineMigration({
      name: 'notify',
      ...stores,
      control: postgresControlStore(pool),
      instanceId: 'sleepy',
      pollMs: 30_000,
      instanceExpiryMs: 300_000,
    }).start();
    try {
      const seen = new Promise<PhaseState>((resolve) => sleepy.on('phase-changed', ({ to }) => resolve(to)));
      await operator.advance({ reason: 'test: push' });
      // Polling would take 30 s; the test's own timeout is far shorter, so only the push can satisfy this.
      const to = await Promise.race([
        seen,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no notification within 10 s')), 10_000)),
      ]);
      expect(to.phase).toBe('dual-write');
    } finally {
      await operator.close();
      await sleepy.close();
    }
  });
});
