/**
 * The demo's job thread: the operator's backfill, verification and sweep,
 * on connections of its own to the demo's SQLite files, so the serving
 * instances' event loop never waits for them. The control store is the same
 * file: the gates the demo's operator advances through read what these jobs
 * write there (checkpoints, the last verification).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorSummary } from '../core/errors.js';
import { defineMigration } from '../migration/migration.js';
import { checkpointEvery, openDemoStores } from './demo-stores.js';
import {
  COPY_PACE,
  JOB_SHARE,
  VERIFY_PACE,
  type JobReply,
  type JobRequest,
  type JobWorkerData,
} from './jobs-protocol.js';
import type { DemoUser } from './users.js';
import { pacedStore, threadPace } from './pacing.js';

const port = parentPort;
if (!port) throw new Error('jobs-worker.js is the demo’s job thread: runDemo starts it, it does not run on its own');

const { dir } = workerData as JobWorkerData;
const stores = await openDemoStores(dir, { checkpoints: true });
const stopCheckpoints = await checkpointEvery(dir, 1000);
const pace = threadPace(JOB_SHARE);
const jobs = defineMigration<bigint, DemoUser>({
  name: 'users',
  old: pacedStore(stores.old, pace),
  new: pacedStore(stores.new, pace),
  control: stores.control,
  instanceId: 'operator-jobs',
  actor: 'demo-operator',
  pollMs: 50,
  instanceExpiryMs: 2000,
  // The repair drain in rounds small enough to pace between.
  repair: { batch: 25, concurrency: 2 },
});

const reply = (message: JobReply): void => port.postMessage(message);

async function run(request: JobRequest): Promise<JobReply> {
  const { id } = request;
  switch (request.job) {
    case 'backfill':
      return {
        kind: 'done',
        id,
        result: await jobs.backfill({
          ...COPY_PACE,
          onProgress: (p) => reply({ kind: 'progress', id, rowsDone: p.rowsDone, rowsPerSecond: p.rowsPerSecond }),
        }),
      };
    case 'verify':
      return { kind: 'done', id, result: await jobs.verify(VERIFY_PACE) };
    case 'sweep':
      return { kind: 'done', id, result: await jobs.sweep(COPY_PACE) };
    case 'drain':
      return { kind: 'done', id, result: await jobs.drainRepairs() };
    case 'close':
      stopCheckpoints();
      await jobs.close();
      await Promise.all([stores.old.close(), stores.new.close(), stores.control.close()]);
      return { kind: 'done', id, result: null };
  }
}

port.on('message', (request: JobRequest) => {
  run(request).then(reply, (error: unknown) =>
    reply({
      kind: 'failed',
      id: request.id,
      ...errorSummary(error),
    }),
  );
});
reply({ kind: 'ready' });
