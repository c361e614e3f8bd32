import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MidairError } from '../../core/errors.js';

/** The TypeScript config `midair init` writes (the test suite compiles it under `tsc --strict`). */
export const TS_TEMPLATE = `import { col, sqlMapping } from 'midair';
import { defineConfig } from 'midair/config';

// The entity both stores hold: midair compares, copies and verifies it field by field.
interface User {
  id: bigint;
  email: string;
  name: string;
  updatedAt: Date;
}

export default defineConfig({
  // Where the phase, its audit log, heartbeats, checkpoints and the repair queue live.
  control: 'sqlite:midair-control.db', // or { env: 'MIDAIR_CONTROL_URL' } with postgres://… or mysql://…
  migrations: {
    users: {
      old: {
        env: 'OLD_DATABASE_URL', // e.g. mysql://app@old-db:3306/app
        // Every field of User once, through a codec that takes its type: a field left out does not compile.
        mapping: sqlMapping<User>({
          key: 'id',
          table: 'users',
          columns: { id: col.bigint('id'), email: col.text('email'), name: col.text('name'), updatedAt: col.timestamptz('updated_at') },
        }),
      },
      new: {
        env: 'NEW_DATABASE_URL', // e.g. postgres://app@new-db:5432/app
        // name lives in a second table, which holds the key as user_id.
        mapping: sqlMapping<User>({
          key: 'id',
          table: 'users',
          columns: {
            id: col.bigint('id'),
            email: col.text('email'),
            updatedAt: col.timestamptz('updated_at'),
            name: col.text('full_name').in('user_profiles'),
          },
          joined: { user_profiles: { key: 'user_id' } },
        }),
      },
      shadow: { ignoreFields: [] },
      gates: {
        minComparisons: 1000,
        maxMismatchRate: 0.001,
        // Into ramp and new-primary: new's p99 within 2× old's, at most 0.1 % of its calls failing, over 1000 calls each.
        capacityLatencyFactor: 2,
        maxNewErrorRate: 0.001,
        minCapacityCalls: 1000,
        rollbackWindowHours: 48,
      },
      backfill: { maxRowsPerSecond: 5000 },
    },
  },
});
`;

const JSON_TEMPLATE = {
  control: 'sqlite:midair-control.db',
  migrations: {
    users: {
      old: {
        env: 'OLD_DATABASE_URL',
        mapping: {
          key: 'id',
          tables: [
            {
              table: 'users',
              columns: { id: 'bigint', email: 'text', name: 'text', updatedAt: 'timestamptz:updated_at' },
            },
          ],
        },
      },
      new: {
        env: 'NEW_DATABASE_URL',
        mapping: {
          key: 'id',
          tables: [
            { table: 'users', columns: { id: 'bigint', email: 'text', updatedAt: 'timestamptz:updated_at' } },
            { table: 'user_profiles', columns: { id: 'bigint:user_id', name: 'text:full_name' } },
          ],
        },
      },
      gates: {
        minComparisons: 1000,
        maxMismatchRate: 0.001,
        capacityLatencyFactor: 2,
        maxNewErrorRate: 0.001,
        minCapacityCalls: 1000,
        rollbackWindowHours: 48,
      },
    },
  },
};

/** `midair init`: writes a config to start from; never overwrites one without `--force`. */
export function init(cwd: string, format: 'ts' | 'json', force: boolean): { path: string } {
  const path = join(cwd, format === 'ts' ? 'midair.config.ts' : 'midair.config.json');
  if (existsSync(path) && !force)
    throw new MidairError('INVALID_ARGUMENT', `${path} exists; pass --force to overwrite it`);
  writeFileSync(path, format === 'ts' ? TS_TEMPLATE : `${JSON.stringify(JSON_TEMPLATE, null, 2)}\n`);
  return { path };
}
