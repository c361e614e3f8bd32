import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { MidairError } from '../core/errors.js';
import { col, sqlMapping, type ColumnSpec, type SqlMapping } from '../mapping/mapping.js';
import {
  configSchema,
  type ColumnType,
  type MappingSpec,
  type MidairConfig,
  type MigrationConfig,
  type WebhookConfig,
} from './config-schema.js';
import type { WebhookOptions } from '../hooks/webhook-types.js';
import { checkWebhooks } from '../hooks/webhook-options.js';

/** The files `midair` looks for, in this order. */
export const CONFIG_FILES = [
  'midair.config.ts',
  'midair.config.mts',
  'midair.config.js',
  'midair.config.mjs',
  'midair.config.json',
] as const;

/** A store as the CLI opens it: where, and with which mapping. */
export interface ResolvedStore {
  readonly url: string;
  /** Where it came from, for messages (`migrations.users.old.env OLD_DATABASE_URL`) — never the URL itself, which may hold a password. */
  readonly from: string;
  readonly mapping: SqlMapping<object>;
  readonly name?: string | undefined;
  /** Redis stores: the key prefix of the entities. */
  readonly prefix?: string | undefined;
}

export interface ResolvedMigration extends Omit<MigrationConfig, 'old' | 'new' | 'webhooks'> {
  readonly name: string;
  readonly old: ResolvedStore;
  readonly new: ResolvedStore;
  /** Each receiver with its URL and secret read (never printed: a URL may hold a token). */
  readonly webhooks?: readonly WebhookOptions[];
}

export interface ResolvedConfig {
  readonly path: string;
  readonly control: { readonly url: string; readonly from: string };
  readonly migrations: ReadonlyMap<string, ResolvedMigration>;
}

/**
 * Declares a config file's contents with types (`midair.config.ts`).
 *
 * @example
 * ```ts
 * export default defineConfig({
 *   control: 'sqlite:midair-control.db',
 *   migrations: { users: { old: { env: 'OLD_URL', mapping: oldUsers }, new: { env: 'NEW_URL', mapping: newUsers } } },
 * });
 * ```
 */
export function defineConfig(config: MidairConfig): MidairConfig {
  return config;
}

function configError(path: string, message: string, cause?: unknown): MidairError {
  return new MidairError('CONFIG', `${path}: ${message}`, cause === undefined ? {} : { cause });
}

/** Zod issues as lines that name the field and say what it must be. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    const at = i.path.length > 0 ? i.path.map(String).join('.') : '(top level)';
    if (i.code === 'unrecognized_keys')
      return `${at}: unknown ${i.keys.length > 1 ? 'fields' : 'field'} ${i.keys.join(', ')} (check the spelling)`;
    if (i.code === 'invalid_type' && i.input === undefined)
      return `${at}: missing — ${i.message.startsWith('Invalid input') ? 'this field is required' : i.message}`;
    return `${at}: ${i.message}`;
  });
}

function toColumn(field: string, spec: unknown): ColumnSpec {
  if (typeof spec === 'object' && spec !== null && 'codec' in spec) return spec as ColumnSpec;
  const { type, column, as } =
    typeof spec === 'string'
      ? {
          type: spec.split(':')[0] as ColumnType,
          column: spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : undefined,
          as: undefined,
        }
      : (spec as { type: ColumnType; column?: string; as?: 'date' | 'string' });
  if (type !== 'timestamptz') return col[type](column ?? field);
  return as === 'string'
    ? col.timestamptz(column ?? field, { as })
    : col.timestamptz(column ?? field, as ? { as } : {});
}

function toMapping(spec: MappingSpec | SqlMapping<never>): SqlMapping<object> {
  if ('selectFields' in spec) return spec as unknown as SqlMapping<object>;
  return sqlMapping<Record<string, unknown>>({
    key: spec.key,
    ...(spec.version ? { version: spec.version } : {}),
    ...(spec.tombstoneTable ? { tombstoneTable: spec.tombstoneTable } : {}),
    tables: spec.tables.map((t) => ({
      table: t.table,
      ...(t.schema ? { schema: t.schema } : {}),
      columns: Object.fromEntries(Object.entries(t.columns).map(([field, c]) => [field, toColumn(field, c)])),
    })) as [never, ...never[]],
  }) as unknown as SqlMapping<object>;
}

function connection(
  path: string,
  at: string,
  value: string | { url?: string | undefined; env?: string | undefined },
  env: NodeJS.ProcessEnv,
): { url: string; from: string } {
  if (typeof value === 'string') return { url: value, from: at };
  if (value.url !== undefined) return { url: value.url, from: `${at}.url` };
  const variable = value.env as string;
  const url = env[variable];
  if (!url)
    throw configError(
      path,
      `${at}.env: the environment variable ${variable} is not set; export it with the connection URL (e.g. ${variable}=postgres://user@host:5432/db)`,
    );
  return { url, from: `${at}.env ${variable}` };
}

/** A receiver's URL and secret, from the file or the environment; a variable that is not set is a CONFIG error naming it. */
function webhook(path: string, at: string, h: WebhookConfig, env: NodeJS.ProcessEnv): WebhookOptions {
  const read = (field: string, value: string | undefined, variable: string | undefined, what: string): string => {
    if (value !== undefined) return value;
    const found = env[variable as string];
    if (!found)
      throw configError(
        path,
        `${at}.${field}: the environment variable ${variable} is not set; export it with ${what}`,
      );
    return found;
  };
  return {
    url: read('urlEnv', h.url, h.urlEnv, 'the URL the webhook is posted to'),
    secret: read('secretEnv', h.secret, h.secretEnv, 'the HMAC secret the receiver checks signatures with'),
    ...(h.events ? { events: h.events } : {}),
  };
}

/** Validates a config object and resolves environment variables and declarative mappings. */
export function resolveConfig(path: string, raw: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success)
    throw configError(path, `invalid configuration:\n  ${describeIssues(parsed.error.issues).join('\n  ')}`);
  const config = parsed.data;
  const migrations = new Map<string, ResolvedMigration>();
  for (const [name, m] of Object.entries(config.migrations)) {
    const store = (side: 'old' | 'new'): ResolvedStore => {
      const s = m[side];
      let mapping: SqlMapping<object>;
      try {
        mapping = toMapping(s.mapping);
      } catch (err) {
        throw configError(
          path,
          `migrations.${name}.${side}.mapping: ${err instanceof Error ? err.message : String(err)}`,
          err,
        );
      }
      return { ...connection(path, `migrations.${name}.${side}`, s, env), mapping, name: s.name, prefix: s.prefix };
    };
    const { webhooks, ...rest } = m;
    const hooks = webhooks?.map((h, i) => webhook(path, `migrations.${name}.webhooks[${i}]`, h, env));
    try {
      checkWebhooks(hooks, path, `migrations.${name}.webhooks`);
    } catch (err) {
      throw new MidairError('CONFIG', err instanceof Error ? err.message : String(err));
    }
    migrations.set(name, {
      ...rest,
      name,
      old: store('old'),
      new: store('new'),
      ...(hooks ? { webhooks: hooks } : {}),
    });
  }
  return { path, control: connection(path, 'control', config.control, env), migrations };
}

/** Finds the config: `explicit` if given, else the first of {@link CONFIG_FILES} in `cwd`. */
export function findConfig(explicit: string | undefined, cwd: string): string {
  if (explicit) {
    const path = isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
    if (!existsSync(path)) throw configError(explicit, 'no such file; check the path given to --config');
    return path;
  }
  for (const file of CONFIG_FILES) {
    const path = join(cwd, file);
    if (existsSync(path)) return path;
  }
  throw new MidairError(
    'CONFIG',
    `no midair config in ${cwd} (looked for ${CONFIG_FILES.join(', ')}); run \`midair init\` to create one, or pass --config <file>`,
  );
}

/** This package's own entry points, so a config file's `import … from 'midair'` resolves wherever the file lives. */
function selfAliases(): Record<string, string> {
  const dist = dirname(dirname(fileURLToPath(import.meta.url)));
  return {
    'midair/adapter': join(dist, 'adapter.js'),
    'midair/config': join(dist, 'config', 'index.js'),
    'midair/demo': join(dist, 'demo', 'index.js'),
    'midair/postgres': join(dist, 'postgres', 'index.js'),
    'midair/mysql': join(dist, 'mysql', 'index.js'),
    'midair/sqlite': join(dist, 'sqlite', 'index.js'),
    midair: join(dist, 'index.js'),
  };
}

/**
 * Loads, validates and resolves the config. TypeScript and JavaScript files
 * are run (through jiti); JSON is parsed. Errors name the file and the field.
 */
export async function loadConfig(
  explicit: string | undefined,
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedConfig> {
  const path = findConfig(explicit, cwd);
  let raw: unknown;
  if (path.endsWith('.json')) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    } catch (err) {
      throw configError(path, `not valid JSON (${err instanceof Error ? err.message : String(err)})`, err);
    }
  } else {
    const { createJiti } = await import('jiti');
    const jiti = createJiti(import.meta.url, { alias: selfAliases(), moduleCache: false, fsCache: false });
    try {
      raw = await jiti.import(path, { default: true });
    } catch (err) {
      throw configError(path, `could not be loaded: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }
  return resolveConfig(path, raw, env);
}
