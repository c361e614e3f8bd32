import { dirname } from 'node:path';
import { loadConfig, type ResolvedConfig, type ResolvedMigration } from '../config/load-config.js';
import { openControl, openStore, parseConnection } from '../config/connect.js';
import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../errors.js';
import type { Key } from '../keys.js';
import { defineMigration, type Migration } from '../migration/migration.js';
import type { GateThresholds } from '../migration/gates.js';
import type { Store } from '../store.js';

/** What every command works on: the config, one migration, its stores and control store. */
export interface CliContext {
  readonly config: ResolvedConfig;
  readonly spec: ResolvedMigration;
  readonly control: ControlStore;
  readonly old: Store<Key, object>;
  readonly new: Store<Key, object>;
  readonly migration: Migration<Key, object>;
  readonly thresholds: GateThresholds;
  close(): Promise<void>;
}

export interface GlobalOptions {
  readonly config?: string;
  readonly migration?: string;
  readonly json?: boolean;
}

/** Picks the migration: the one named, or the only one. */
export function pickMigration(config: ResolvedConfig, name: string | undefined): ResolvedMigration {
  const names = [...config.migrations.keys()];
  if (name === undefined) {
    if (names.length === 1) return config.migrations.get(names[0] as string) as ResolvedMigration;
    throw new MidairError('INVALID_ARGUMENT', `${config.path} declares ${names.length} migrations (${names.join(', ')}): pick one with --migration <name>`);
  }
  const found = config.migrations.get(name);
  if (!found) throw new MidairError('INVALID_ARGUMENT', `no migration "${name}" in ${config.path}; it declares ${names.join(', ')}`);
  return found;
}

/** Loads the config and opens what the command needs (`writes`: it will move or copy data); `close()` releases it all. */
export async function openContext(options: GlobalOptions, writes = false): Promise<CliContext> {
  const config = await loadConfig(options.config);
  const spec = pickMigration(config, options.migration);
  const base = dirname(config.path);
  // Every URL is checked before anything is opened: a bad one must not leave a control database behind.
  for (const c of [config.control, spec.old, spec.new]) parseConnection(c.url, c.from, base);
  const opened: { close(): Promise<void> }[] = [];
  try {
    const control = await openControl(config.control.url, config.control.from, base);
    opened.push(control);
    const old = await openStore<Key, object>(spec.old.url, spec.old.from, spec.old.mapping, base, spec.old.name ?? `old (${spec.old.mapping.tables.map((t) => t.table).join(' + ')})`);
    opened.push(old);
    const neu = await openStore<Key, object>(spec.new.url, spec.new.from, spec.new.mapping, base, spec.new.name ?? `new (${spec.new.mapping.tables.map((t) => t.table).join(' + ')})`);
    opened.push(neu);
    await control.setup();
    await control.init(spec.name, 'midair-cli');
    // A command that moves or copies data makes sure midair's tombstone tables exist beside the user's (idempotent).
    if (writes) await Promise.all([old.setup(), neu.setup()]);
    const migration = defineMigration<Key, object>({
      name: spec.name,
      old,
      new: neu,
      control,
      ...(spec.lazy === undefined ? {} : { lazy: spec.lazy }),
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(spec.shadow ? { shadow: spec.shadow } : {}),
      repair: { enabled: false },
    });
    const g = spec.gates ?? {};
    const thresholds: GateThresholds = {
      ...(g.minComparisons === undefined ? {} : { minComparisons: g.minComparisons }),
      ...(g.maxMismatchRate === undefined ? {} : { maxMismatchRate: g.maxMismatchRate }),
      ...(g.rollbackWindowHours === undefined ? {} : { rollbackWindowMs: g.rollbackWindowHours * 3_600_000 }),
    };
    return {
      config,
      spec,
      control,
      old,
      new: neu,
      migration,
      thresholds,
      close: async () => {
        await migration.close();
        for (const o of opened.reverse()) await o.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => undefined);
    throw err;
  }
}
