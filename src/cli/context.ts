import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KeyMappings } from '../backfill/key-check.js';
import { loadConfig, type ResolvedConfig, type ResolvedMigration } from '../config/load-config.js';
import { codecDialect, openControl, openStore, parseConnection } from '../config/connect.js';
import type { ControlStore, PhaseState } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { defineMigration, type Migration } from '../migration/migration.js';
import type { GateThresholds } from '../migration/gates.js';
import type { Store } from '../core/store.js';
import type { WaitNotice } from '../core/waits.js';
import { liveSchemaRefusal } from './schema-guard.js';

/** What every command works on: the config, one migration, its stores and control store. */
export interface CliContext {
  readonly config: ResolvedConfig;
  readonly spec: ResolvedMigration;
  /** The control store (before {@link CliContext.prepareWrites}, possibly a stand-in that holds nothing: see there). */
  readonly control: ControlStore;
  readonly old: Store<Key, object>;
  readonly new: Store<Key, object>;
  readonly migration: Migration<Key, object>;
  readonly thresholds: GateThresholds;
  /** Both mappings and new's dialect, for the key-codec check. */
  readonly keyMappings: KeyMappings;
  /** Why a store could not be opened (read-only commands carry on and say so). */
  readonly unopened: { readonly old?: MidairError; readonly new?: MidairError };
  /** The migration's phase, or `undefined` when nothing has run yet (the control store holds no state, or no tables). Reads only. */
  state(): Promise<PhaseState | undefined>;
  /**
   * A command calls this once it validated what it was asked, right before
   * its first write: checks both stores' live schemas (an error refuses, with
   * nothing written), then creates the control tables and the migration's
   * state and, with `stores`, midair's tombstone tables beside the user's.
   */
  prepareWrites(options?: { readonly stores?: boolean }): Promise<void>;
  /** Hears the migration's waits (an instance that has not acknowledged the phase), whichever migration object the context holds. */
  onWaiting(listener: (notice: WaitNotice) => void): () => void;
  close(): Promise<void>;
}

export interface GlobalOptions {
  readonly config?: string;
  readonly migration?: string;
  readonly json?: boolean;
  /** Who runs the command, for the audit log (default user@host). */
  readonly actor?: string;
}

/** Picks the migration: the one named, or the only one. */
export function pickMigration(config: ResolvedConfig, name: string | undefined): ResolvedMigration {
  const names = [...config.migrations.keys()];
  if (name === undefined) {
    if (names.length === 1) return config.migrations.get(names[0] as string) as ResolvedMigration;
    throw new MidairError(
      'INVALID_ARGUMENT',
      `${config.path} declares ${names.length} migrations (${names.join(', ')}): pick one with --migration <name>`,
    );
  }
  const found = config.migrations.get(name);
  if (!found)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `no migration "${name}" in ${config.path}; it declares ${names.join(', ')}`,
    );
  return found;
}

/** A store that could not be opened: every call fails with why (read-only commands report it). */
function unopenedStore(name: string, error: MidairError): Store<Key, object> {
  return new Proxy({ name } as Store<Key, object>, {
    get(target, prop) {
      if (prop === 'name') return target.name;
      if (prop === 'close') return async () => Promise.resolve();
      if (prop === 'then') return undefined;
      return () => {
        throw error;
      };
    },
  });
}

const asMidair = (err: unknown): MidairError =>
  err instanceof MidairError
    ? err
    : new MidairError('CONNECTION', err instanceof Error ? err.name : 'the store could not be opened', { cause: err });

/** What opening one context holds while it opens: everything opened is closed again on failure. */
interface Opening {
  readonly config: ResolvedConfig;
  readonly spec: ResolvedMigration;
  readonly base: string;
  readonly reads: boolean;
  readonly opened: { close(): Promise<void> }[];
  readonly closeAll: () => Promise<void>;
}

/** Opens one side's store; a read-only command carries on with a stand-in that says why it could not. */
async function openSide(
  o: Opening,
  unopened: { old?: MidairError; new?: MidairError },
  side: 'old' | 'new',
): Promise<Store<Key, object>> {
  const s = o.spec[side];
  const name = s.name ?? `${side} (${s.mapping.tables.map((t) => t.table).join(' + ')})`;
  try {
    const store = await openStore<Key, object>(s.url, s.from, s.mapping, o.base, name, s.prefix);
    o.opened.push(store);
    return store;
  } catch (err) {
    if (!o.reads) throw err;
    unopened[side] = asMidair(err);
    return unopenedStore(name, unopened[side]);
  }
}

function thresholdsOf(spec: ResolvedMigration): GateThresholds {
  const g = spec.gates ?? {};
  return {
    ...(g.minComparisons === undefined ? {} : { minComparisons: g.minComparisons }),
    ...(g.maxMismatchRate === undefined ? {} : { maxMismatchRate: g.maxMismatchRate }),
    ...(g.rollbackWindowHours === undefined ? {} : { rollbackWindowMs: g.rollbackWindowHours * 3_600_000 }),
    ...(g.capacityLatencyFactor === undefined ? {} : { capacityLatencyFactor: g.capacityLatencyFactor }),
    ...(g.maxNewErrorRate === undefined ? {} : { maxNewErrorRate: g.maxNewErrorRate }),
    ...(g.minCapacityCalls === undefined ? {} : { minCapacityCalls: g.minCapacityCalls }),
  };
}

/** The opened pieces a context is assembled from. */
interface Opened {
  readonly control: ControlStore;
  readonly controlMissing: boolean;
  readonly old: Store<Key, object>;
  readonly newSide: Store<Key, object>;
  readonly unopened: { old?: MidairError; new?: MidairError };
  readonly keyMappings: KeyMappings;
}

function assembleContext(o: Opening, p: Opened): CliContext {
  const { config, spec, base, opened, closeAll } = o;
  const { controlMissing, old, newSide, unopened, keyMappings } = p;
  let control = p.control;
  const waiters = new Set<(notice: WaitNotice) => void>();
  const migrationFor = (c: ControlStore): Migration<Key, object> => {
    const m = defineMigration<Key, object>({
      name: spec.name,
      old,
      new: newSide,
      control: c,
      ...(spec.lazy === undefined ? {} : { lazy: spec.lazy }),
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      ...(spec.shadow ? { shadow: spec.shadow } : {}),
      ...(spec.webhooks ? { webhooks: spec.webhooks } : {}),
      repair: { enabled: false },
    });
    m.on('waiting', (notice) => {
      for (const w of waiters) w(notice);
    });
    // A webhook that could not be delivered is said on stderr (its origin only, never its URL or secret); the command's result stands.
    m.on('error', ({ operation, error }) => {
      if (operation.startsWith('webhook')) process.stderr.write(`midair: ${errorSummary(error).message}\n`);
    });
    return m;
  };
  let migration = migrationFor(control);
  const thresholds = thresholdsOf(spec);
  let prepared = false;
  return {
    config,
    spec,
    get control() {
      return control;
    },
    old,
    new: newSide,
    get migration() {
      return migration;
    },
    thresholds,
    keyMappings,
    unopened,
    state: async () => {
      try {
        return await control.getState(spec.name);
      } catch (err) {
        if (err instanceof MidairError && err.code === 'SCHEMA_MISMATCH') return undefined; // no control tables yet
        throw err;
      }
    },
    prepareWrites: async (w = {}) => {
      if (prepared) return;
      const refusal = await liveSchemaRefusal(old, newSide);
      if (refusal) throw refusal;
      if (controlMissing) {
        const real = await openControl(config.control.url, config.control.from, base);
        opened.push(real);
        control = real;
        migration = migrationFor(real);
      }
      await control.setup();
      await control.init(spec.name, 'midair-cli');
      // A command that moves or copies data makes sure midair's tombstone tables exist beside the user's (idempotent).
      if (w.stores ?? true) await Promise.all([old.setup(), newSide.setup()]);
      prepared = true;
    },
    onWaiting: (listener) => {
      waiters.add(listener);
      return () => waiters.delete(listener);
    },
    close: async () => {
      await migration.close();
      await closeAll();
    },
  };
}

/**
 * Loads the config and opens the migration's stores and control store.
 * Opening writes nothing: no control tables, no state, no tombstone tables,
 * and no new SQLite control file (a missing one reads as "nothing has run
 * yet" until {@link CliContext.prepareWrites}). `reads`: a read-only command,
 * which carries on when a store cannot be opened and reports it. `loaded`:
 * the config, when the caller loaded it already (one context per migration).
 */
export async function openContext(options: GlobalOptions, reads = false, loaded?: ResolvedConfig): Promise<CliContext> {
  const config = loaded ?? (await loadConfig(options.config));
  const spec = pickMigration(config, options.migration);
  const base = dirname(config.path);
  // Every URL is checked before anything is opened: a bad one must not leave a control database behind.
  const controlUrl = parseConnection(config.control.url, config.control.from, base);
  parseConnection(spec.old.url, spec.old.from, base);
  const newUrl = parseConnection(spec.new.url, spec.new.from, base);
  const opened: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const o of opened.splice(0).reverse()) await o.close().catch(() => undefined);
  };
  const opening: Opening = { config, spec, base, reads, opened, closeAll };
  try {
    // A SQLite control file that does not exist yet is created only by a command that writes.
    const controlMissing =
      controlUrl.kind === 'sqlite' && controlUrl.path !== ':memory:' && !existsSync(controlUrl.path ?? '');
    const control = controlMissing
      ? await openControl('sqlite::memory:', config.control.from, base)
      : await openControl(config.control.url, config.control.from, base);
    opened.push(control);
    if (controlMissing) await control.setup(); // an empty stand-in in memory: reads find no state
    const unopened: { old?: MidairError; new?: MidairError } = {};
    const old = await openSide(opening, unopened, 'old');
    const newSide = await openSide(opening, unopened, 'new');
    const keyMappings: KeyMappings = {
      old: spec.old.mapping,
      new: spec.new.mapping,
      newDialect: codecDialect(newUrl.kind),
    };
    return assembleContext(opening, { control, controlMissing, old, newSide, unopened, keyMappings });
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * A context over stores and a control store this process opened already
 * (the demo's, for its dashboard): the commands run on them as on any
 * other, through a migration object of the context's own. Closing the
 * context closes that object, never the stores.
 */
export function attachContext(
  config: ResolvedConfig,
  spec: ResolvedMigration,
  open: { readonly control: ControlStore; readonly old: Store<Key, object>; readonly new: Store<Key, object> },
): CliContext {
  const base = dirname(config.path);
  const opening: Opening = { config, spec, base, reads: true, opened: [], closeAll: async () => Promise.resolve() };
  const keyMappings: KeyMappings = {
    old: spec.old.mapping,
    new: spec.new.mapping,
    newDialect: codecDialect(parseConnection(spec.new.url, spec.new.from, base).kind),
  };
  return assembleContext(opening, {
    control: open.control,
    controlMissing: false,
    old: open.old,
    newSide: open.new,
    unopened: {},
    keyMappings,
  });
}
