import { positiveInt, type Cli } from '../cli-kit.js';
import { formatJob, runWorker, type WorkerCliOptions } from '../commands/worker.js';
import { EXIT } from '../output.js';

/** `midair worker`: a long-running process that works queued backfill, sweep and verification jobs. */
export function registerWorker(cli: Cli): void {
  cli.program
    .command('worker')
    .description(
      'work the migration’s queued backfill, sweep and verification jobs (started with `backfill --queue`, `sweep --queue`, `verify --queue`) until SIGTERM or Ctrl-C, which hands each running range back with its progress',
    )
    .requiredOption('--queue <url>', 'the BullMQ queue: redis://host[:port][/db] or postgres://…')
    .option('--queue-prefix <prefix>', 'the queue name’s prefix, as `backfill --queue-prefix` gave it (default midair)')
    .option('--concurrency <n>', 'jobs worked at once in this process (default 1)', positiveInt)
    .option(
      '--lock-ms <ms>',
      'how long the queue’s lock on a running job lasts without renewal (default 30000); a job whose worker stalls past it is run by another, and the range’s lease and fence keep that safe',
      positiveInt,
    )
    .action(async (opts: WorkerCliOptions) =>
      cli.withContext(async (ctx, o) => {
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const emit = (value: object, human: string): void => {
          if (o.json) process.stdout.write(`${JSON.stringify(value)}\n`);
          else o.line(human);
        };
        try {
          await runWorker(ctx, opts, stop.signal, {
            ready: (where) =>
              emit(
                { ready: { migration: ctx.spec.name, queue: where, concurrency: opts.concurrency ?? 1 } },
                `midair worker: ${ctx.spec.name} on the queue at ${where}, ${opts.concurrency ?? 1} at once; SIGTERM or Ctrl-C stops it`,
              ),
            job: (e) => emit({ job: e }, formatJob(e)),
            error: (message) => emit({ queueError: message }, `queue error: ${message}`),
          });
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        o.line('midair worker: stopped');
        return EXIT.ok;
      }, true),
    );
}
