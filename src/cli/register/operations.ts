import { positiveInt, type Cli } from '../cli-kit.js';
import { acceptDeadLetters, formatDeadLetters, listDeadLetters, retryDeadLetters } from '../commands/dead-letters.js';
import { evictInstance, formatEviction, formatFleet, listFleet } from '../commands/fleet.js';
import { formatRepairs, formatRepairsChange, listRepairs, resolveRepairs, retryRepairs } from '../commands/repairs.js';
import { EXIT } from '../output.js';
import { formatMigrations, formatRemoval, listMigrations, removeMigration } from '../commands/migrations.js';

/** What an operator resolves by hand: parked repairs, dead instances, dead letters. */
export function registerOperations(cli: Cli): void {
  registerRepairs(cli);
  registerFleet(cli);
  registerDeadLetters(cli);
  registerMigrations(cli);
}

function registerMigrations(cli: Cli): void {
  const migrations = cli.program
    .command('migrations')
    .description('the migrations the control store holds: list them, remove one that is finished or never started');
  migrations
    .command('list')
    .description('every migration in the control store (the config’s and any left over): phase, version, instances')
    .action(async () =>
      cli.withContext(async (ctx, o) => {
        const rows = await listMigrations(ctx);
        o.result({ migrations: rows }, () => formatMigrations(rows));
        return EXIT.ok;
      }),
    );
  migrations
    .command('remove')
    .description(
      'delete a migration from the control store (state, audit log, instances, repairs, checkpoints, dead letters, leases), in old-only or complete only, with no instance on record; the data stores are untouched',
    )
    .argument('<name>', 'the migration, as `midair migrations list` prints it')
    .option('--reason <text>', 'why (required)')
    .option('--yes', 'confirm: its audit log goes too')
    .action(async (name: string, opts: { reason?: string; yes?: boolean }) =>
      cli.withContext(async (ctx, o) => {
        const r = await removeMigration(ctx, name, opts);
        o.result(r, () => formatRemoval(r));
        return EXIT.ok;
      }),
    );
}

function registerRepairs(cli: Cli): void {
  const repairs = cli.program
    .command('repairs')
    .description('repairs the repairers could not finish: list them, retry them, or accept them (audited)');
  repairs
    .command('list')
    .description('pending and parked repairs: key, reason, attempts, store and the constraint the data breaks')
    .option('--limit <n>', 'at most this many of each (default 100)', positiveInt)
    .action(async (opts: { limit?: number }) =>
      cli.withContext(async (ctx, o) => {
        const r = await listRepairs(ctx, opts.limit);
        o.result(r, () => formatRepairs(r));
        return r.parked > 0 ? EXIT.notClean : EXIT.ok;
      }),
    );
  repairs
    .command('retry')
    .description('put parked repairs back in the queue, due at once (audited repair-retry)')
    .argument('[keyIds...]', 'the parked keys, as `midair repairs list` prints them')
    .option('--all', 'every parked repair')
    .option('--reason <text>', 'why (goes to the audit log)')
    .action(async (keyIds: string[], opts: { all?: boolean; reason?: string }) =>
      cli.withContext(async (ctx, o) => {
        const r = await retryRepairs(ctx, keyIds, { ...opts, actor: cli.actor() });
        o.result(r, () => formatRepairsChange(r));
        return EXIT.ok;
      }),
    );
  repairs
    .command('resolve')
    .description('accept parked repairs as they are and drop them (audited repair-resolve)')
    .argument('<keyIds...>', 'the parked keys, as `midair repairs list` prints them')
    .option('--reason <text>', 'why (required; goes to the audit log)')
    .action(async (keyIds: string[], opts: { reason?: string }) =>
      cli.withContext(async (ctx, o) => {
        const r = await resolveRepairs(ctx, keyIds, { ...opts, actor: cli.actor() });
        o.result(r, () => formatRepairsChange(r));
        return EXIT.ok;
      }),
    );
}

function registerFleet(cli: Cli): void {
  const fleet = cli.program
    .command('fleet')
    .description('the application instances: list them, evict one that is gone (audited)');
  fleet
    .command('list')
    .description('instance id, host, pid, the phase version it acknowledged and the age of its last heartbeat')
    .action(async () =>
      cli.withContext(async (ctx, o) => {
        const f = await listFleet(ctx);
        o.result(f, () => formatFleet(f));
        return EXIT.ok;
      }),
    );
  fleet
    .command('evict')
    .description('remove the heartbeat of an instance that is gone for good (audited evict)')
    .argument('<instance>', 'the instance id, as `midair fleet list` prints it')
    .option('--reason <text>', 'why (required; goes to the audit log)')
    .action(async (instance: string, opts: { reason?: string }) =>
      cli.withContext(async (ctx, o) => {
        const e = await evictInstance(ctx, instance, { ...opts, actor: cli.actor() });
        o.result(e, () => formatEviction(e));
        return EXIT.ok;
      }),
    );
}

function registerDeadLetters(cli: Cli): void {
  const deadLetters = cli.program
    .command('dead-letters')
    .description('rows the backfill could not copy (key, error code and field; never a value)');
  deadLetters
    .command('list')
    .description('the dead letters, oldest first')
    .option('--limit <n>', 'how many to show', positiveInt, 100)
    .action(async (opts: { limit: number }) =>
      cli.withContext(async (ctx, o) => {
        const l = await listDeadLetters(ctx, opts.limit);
        o.result(l, () => formatDeadLetters(l));
        return l.total > 0 ? EXIT.notClean : EXIT.ok;
      }),
    );
  deadLetters
    .command('retry')
    .description('copy the dead letters again (after the data or the schema was fixed); copies only, never deletes')
    .action(async () =>
      cli.withContext(async (ctx, o) => {
        const r = await retryDeadLetters(ctx);
        o.result(r, () => `dead letters: ${r.retried} retried, ${r.copied} copied, ${r.stillFailing} still failing`);
        return r.stillFailing > 0 ? EXIT.notClean : EXIT.ok;
      }, true),
    );
  deadLetters
    .command('accept [keys...]')
    .description(
      'accept dead letters (all, or the keys given) as rows new will not get: the gates stop blocking on them; recorded in the audit log',
    )
    .option('--force', 'needed: accepting drops rows from the migration')
    .option('--reason <text>', 'why (goes to the audit log; needed)')
    .action(async (keys: string[], opts: { force?: boolean; reason?: string }) =>
      cli.withContext(async (ctx, o) => {
        const r = await acceptDeadLetters(ctx, { ...opts, keys });
        o.result(r, () => `accepted ${r.accepted} dead letter(s); recorded in the audit log`);
        return EXIT.ok;
      }, true),
    );
}
