import { defineMigration } from '../src/index.js';
import { runQueueWorker } from '../src/queue/index.js';
import { openSides, type SidesSpec } from './app-sides.js';

/**
 * One `midair worker` of the queued-backfill case, in a process of its own:
 * `jiti bench/queue-worker-child.ts '<spec as JSON>'`. It says `ready` over
 * IPC once it listens, and stops (each job handing its range back) on SIGTERM.
 */
export interface QueueWorkerSpec {
  readonly sides: SidesSpec;
  readonly migration: string;
  readonly queueUrl: string;
  readonly prefix: string;
  readonly connections: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as QueueWorkerSpec;
const sides = await openSides(spec.sides, spec.connections);
const migration = defineMigration({ name: spec.migration, old: sides.old, new: sides.new, control: sides.control });
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
await runQueueWorker(migration, spec.queueUrl, {
  prefix: spec.prefix,
  signal: stop.signal,
  onReady: () => process.send?.({ type: 'ready' }),
});
await migration.close();
await sides.close();
process.exit(0);
