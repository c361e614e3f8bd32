import { diffEntities } from '../core/compare.js';
import type { Migration } from '../migration/migration.js';
import { makeUser, type DemoUser } from './users.js';

/** One client call, as the demo measures it. */
export interface OpSample {
  /** Start, ms since the demo began. */
  readonly at: number;
  readonly ms: number;
  /** The phase the serving instance was in (ramp with its percentage). */
  readonly phase: string;
  readonly error: boolean;
}

export interface LoadStats {
  readonly samples: OpSample[];
  ops: number;
  errors: number;
  /** Reads that did not return the client's own last acknowledged write. */
  staleReads: number;
}

/**
 * Simulated application clients: each owns a slice of the keys (client j of
 * `clients` owns keys ≡ j), so every key's last acknowledged state is known
 * exactly — the model that "no write lost" is checked against. Each client
 * writes through one instance's repository: updates, deletes, re-creates and
 * reads its own keys, reading its writes back.
 */
export function startLoad(
  instances: readonly Migration<bigint, DemoUser>[],
  o: { rows: number; clientsPerInstance: number; thinkMs: number; began: number; random: () => number },
) {
  const clients = instances.length * o.clientsPerInstance;
  const expected = new Map<bigint, DemoUser | undefined>();
  // Versions only grow per key, across deletes and re-creates too: the contract newer-wins writes rely on
  // (restarting at 1 after a delete let a sweep copy a stale row over a newer tombstone's lower version).
  const versions = new Map<bigint, number>();
  const stats: LoadStats = { samples: [], ops: 0, errors: 0, staleReads: 0 };
  let running = true;
  const loops = Array.from({ length: clients }, async (_, c) => {
    const m = instances[c % instances.length] as Migration<bigint, DemoUser>;
    const repo = m.repository();
    const perClient = Math.max(1, Math.floor(Math.min(o.rows, 3000) / clients));
    for (let n = 0; running; n++) {
      const id = BigInt(1 + c + clients * Math.floor(o.random() * perClient));
      const roll = o.random();
      const s = m.state;
      const phase = s.phase === 'ramp' ? `ramp ${s.rampPercent} %` : s.phase;
      const t0 = performance.now();
      let error = false;
      try {
        if (roll < 0.5) {
          const version = (versions.get(id) ?? 1) + 1;
          versions.set(id, version);
          const u: DemoUser = { ...makeUser(Number(id), version), name: `User ${id} (edit ${n} by client ${c})` };
          await repo.put(u);
          expected.set(id, u);
        } else if (roll < 0.6) {
          await repo.delete(id);
          expected.set(id, undefined);
        } else {
          const got = await repo.get(id);
          const want = expected.has(id) ? expected.get(id) : makeUser(Number(id), 1);
          if ((got === undefined) !== (want === undefined) || (got && want && diffEntities(got, want).length > 0))
            stats.staleReads++;
        }
      } catch {
        error = true;
        stats.errors++;
      }
      stats.ops++;
      stats.samples.push({ at: t0 - o.began, ms: performance.now() - t0, phase, error });
      await new Promise((resolve) => setTimeout(resolve, o.thinkMs));
    }
  });
  return {
    stats,
    expected,
    async stop(): Promise<void> {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The p-th percentile (0–100) of values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
