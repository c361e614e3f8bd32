import { CHECKPOINTS } from './checkpoints.js';
import type { Fleet } from './fleet.js';
import type { SqlControlContext } from './sql-control-context.js';
import { decodeInstance } from './sql-control-rows.js';
import { MYSQL_KEY_LIMITS } from './sql-control-schema.js';
import { encodeStoreCalls, storeCallsProblem } from './store-calls.js';

const INSTANCE_COLUMNS = [
  'migration',
  'instance_id',
  'host',
  'phase_version',
  'in_flight_writes',
  'last_seen',
  'started_at',
  'write_p99_ms',
  'write_count',
  'store_calls',
] as const;

/** The fleet over SQL: one row per instance in `instances`, upserted by each heartbeat with the context's clock. */
export function sqlFleet(x: SqlControlContext): Fleet {
  const { prefix, schema, t, c, ph, tuple, cols, query, transaction, fits, checkMigration, now: clock } = x;
  return {
    async heartbeat(info) {
      checkMigration('heartbeat', info.migration);
      fits('heartbeat', 'the instance id', info.instanceId, MYSQL_KEY_LIMITS.instanceId);
      const problem = storeCallsProblem(info.storeCalls);
      if (problem) throw x.invalid('heartbeat', problem);
      const now = clock();
      const served = info.servedWrites;
      const row = [
        info.migration,
        info.instanceId,
        info.host,
        info.phaseVersion,
        info.inFlightWrites,
        now,
        now,
        served?.p99Ms ?? null,
        served?.count ?? null,
        info.storeCalls ? encodeStoreCalls(info.storeCalls) : null,
      ];
      const sql = schema.upsert(
        'instances',
        INSTANCE_COLUMNS,
        ['migration', 'instance_id'],
        [tuple(0, row.length)],
        (_cur, inc) =>
          (
            [
              'host',
              'phase_version',
              'in_flight_writes',
              'last_seen',
              'write_p99_ms',
              'write_count',
              'store_calls',
            ] as const
          ).map((y) => `${c[y]} = ${inc(y)}`),
      );
      await query('heartbeat', sql, row);
    },

    async instances(migration, since) {
      const sql = `SELECT ${cols(INSTANCE_COLUMNS)} FROM ${t.instances} WHERE ${c.migration} = ${ph(1)} AND ${c.last_seen} >= ${ph(2)} ORDER BY ${c.started_at}, ${c.instance_id}`;
      const { rows } = await query('instances', sql, [migration, since.getTime()]);
      return rows.map((r) => decodeInstance(r, prefix + 'instances'));
    },

    async removeInstance(migration, instanceId) {
      await transaction('removeInstance', async (conn) => {
        await conn.query(`DELETE FROM ${t.instances} WHERE ${c.migration} = ${ph(1)} AND ${c.instance_id} = ${ph(2)}`, [
          migration,
          instanceId,
        ]);
        await conn.query(`DELETE FROM ${t.checkpoints} WHERE ${c.migration} = ${ph(1)} AND ${c.name} = ${ph(2)}`, [
          migration,
          CHECKPOINTS.shadow(instanceId).name,
        ]);
      });
    },
  };
}
