import { z } from 'zod';
import type { ColumnSpec, SqlMapping } from '../mapping/mapping.js';
import { WEBHOOK_EVENTS } from '../hooks/webhook-types.js';

/** Column types a declarative mapping may name (the `col.…` factories). */
export const COLUMN_TYPES = [
  'integer',
  'bigint',
  'numeric',
  'text',
  'boolean',
  'timestamptz',
  'timestamp',
  'date',
  'json',
  'bytes',
  'uuid',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const name = (what: string) =>
  z.string({ error: `${what} must be a non-empty string` }).min(1, `${what} must be a non-empty string`);

/** A column: `'bigint'` (column named as the field), `'bigint:user_id'`, `{ type, column, as }`, or a `col.…()` result. */
const columnSchema = z.union(
  [
    z.string().regex(new RegExp(`^(${COLUMN_TYPES.join('|')})(:.+)?$`), {
      error: `a column is "<type>" or "<type>:<column>" with a type of ${COLUMN_TYPES.join(', ')}`,
    }),
    z
      .object({
        type: z.enum(COLUMN_TYPES, { error: `type must be one of ${COLUMN_TYPES.join(', ')}` }),
        column: name('column').optional(),
        as: z.enum(['date', 'string']).optional(),
      })
      .strict(),
    z.custom<ColumnSpec>((v) => typeof v === 'object' && v !== null && 'codec' in v && 'column' in v, {
      error: 'not a column (use col.text("email") or "text:email")',
    }),
  ],
  {
    error: `a column is "<type>[:<column>]", { type, column }, or col.<type>(column); types: ${COLUMN_TYPES.join(', ')}`,
  },
);

const mappingSpecSchema = z
  .object({
    key: z.union([name('key'), z.array(name('key')).min(1)], {
      error: 'key names the key field (or an array of fields for a composite key)',
    }),
    version: name('version').optional(),
    tombstoneTable: name('tombstoneTable').optional(),
    tables: z
      .array(
        z
          .object({
            table: name('table'),
            schema: name('schema').optional(),
            columns: z.record(z.string(), columnSchema, { error: 'columns maps each entity field to a column' }),
          })
          .strict(),
        { error: 'tables lists the tables of the entity, primary first' },
      )
      .min(1, 'tables lists the tables of the entity, primary first'),
  })
  .strict();
export type MappingSpec = z.infer<typeof mappingSpecSchema>;

/** A mapping: `sqlMapping(…)`'s result (TS/JS configs), or the same declared as data (any config). */
const mappingSchema = z.union(
  [
    // `never`: a mapping of any entity (SqlMapping<User> is not a SqlMapping<object>: its key names a field of User).
    z.custom<SqlMapping<never>>((v) => typeof v === 'object' && v !== null && 'selectFields' in v && 'tables' in v),
    mappingSpecSchema,
  ],
  {
    error: 'mapping is sqlMapping({ … }) or { key, tables: [{ table, columns: { field: "type:column" } }] }',
  },
);

/** Where a store or the control store lives: a URL, or the environment variable that holds one. */
const connectionFields = {
  url: name('url').optional(),
  env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'env is the name of an environment variable, e.g. "OLD_DATABASE_URL"' })
    .optional(),
};
const needsOne = (v: { url?: string | undefined; env?: string | undefined }): boolean =>
  (v.url === undefined) !== (v.env === undefined);
const ONE_OF = {
  error:
    'give either url (a connection URL such as postgres://user@host/db, mysql://…, sqlite:file.db, redis://…) or env (an environment variable holding one), not both',
};

const storeSchema = z
  .object({
    ...connectionFields,
    mapping: mappingSchema,
    name: name('name').optional(),
    /** Redis stores: the text every entity's key starts with (default: the mapping's table and ":"). */
    prefix: name('prefix').optional(),
  })
  .strict()
  .refine(needsOne, ONE_OF);

const envName = (what: string) =>
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    error: `${what} is the name of an environment variable, e.g. "MIDAIR_HOOK_SECRET"`,
  });

/** A receiver of the migration's webhooks: its URL and its secret, each given or read from the environment. */
const webhookSchema = z
  .object({
    url: name('url').optional(),
    urlEnv: envName('urlEnv').optional(),
    secret: name('secret').optional(),
    secretEnv: envName('secretEnv').optional(),
    events: z.array(z.enum(WEBHOOK_EVENTS, { error: `an event is one of ${WEBHOOK_EVENTS.join(', ')}` })).optional(),
  })
  .strict()
  .refine((h) => (h.url === undefined) !== (h.urlEnv === undefined), {
    error: 'give either url or urlEnv (an environment variable holding the URL), not both',
  })
  .refine((h) => (h.secret === undefined) !== (h.secretEnv === undefined), {
    error:
      'give either secretEnv (an environment variable holding the HMAC secret, best kept out of the file) or secret, not both',
  });
export type WebhookConfig = z.infer<typeof webhookSchema>;

const fn = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'function', { error: `${what} must be a function (only in a .ts or .js config)` });

const migrationSchema = z
  .object({
    old: storeSchema,
    new: storeSchema,
    lazy: z.boolean().optional(),
    timeoutMs: z.number().int().positive().optional(),
    shadow: z
      .object({
        ignoreFields: z.array(z.string()).optional(),
        sampleRate: z.number().min(0).max(1).optional(),
        recheckMs: z.number().int().min(0).optional(),
        normalize: fn<(entity: object) => object>('shadow.normalize').optional(),
        compare: fn<(a: object, b: object) => readonly string[]>('shadow.compare').optional(),
      })
      .strict()
      .optional(),
    gates: z
      .object({
        /** Shadow comparisons needed in the current phase before leaving it. Default 1000. */
        minComparisons: z.number().int().min(0).optional(),
        /** Highest share of mismatching comparisons to leave shadow-read or ramp. Default 0.001. */
        maxMismatchRate: z.number().min(0).max(1).optional(),
        /** Hours after entering new-primary before `complete` is allowed. Default 48. */
        rollbackWindowHours: z.number().min(0).optional(),
        /** Highest ratio of new's p99 to old's over the application's calls in the phase, to enter ramp or new-primary. Default 2. */
        capacityLatencyFactor: z.number().positive().optional(),
        /** Highest share of new's calls that failed for the store's own reasons, to enter ramp or new-primary. Default 0.001. */
        maxNewErrorRate: z.number().min(0).max(1).optional(),
        /** Calls needed on each store in the current phase, fleet-wide, before the capacity gate compares them. Default 1000. */
        minCapacityCalls: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    backfill: z
      .object({
        maxRowsPerSecond: z.number().positive().optional(),
        chunkSize: z.number().int().positive().optional(),
        workers: z.number().int().positive().optional(),
        /** Ranges a parallel or queued run splits the key space into (default 4 × workers; 64 queued). */
        ranges: z.number().int().positive().optional(),
        /** How long a range's lease lasts without renewal, ms (renewed after every chunk). Default 30 000. */
        leaseMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    verify: z
      .object({
        ignoreFields: z.array(z.string()).optional(),
        segmentRows: z.number().int().positive().optional(),
        /** A ceiling on old's rows compared per second, over every worker and process of a pass. */
        maxRowsPerSecond: z.number().positive().optional(),
        /** Ranges a parallel or queued pass splits the key space into (default 4 × workers; 64 queued). */
        ranges: z.number().int().positive().optional(),
        /** How long a range's lease lasts without renewal, ms (renewed after every segment). Default 30 000. */
        leaseMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** Where the migration's phase changes, auto-halts, refused gates, verifications and parked repairs are posted. */
    webhooks: z.array(webhookSchema, { error: 'webhooks lists receivers: [{ url, secretEnv, events? }]' }).optional(),
  })
  .strict();
export type MigrationConfig = z.infer<typeof migrationSchema>;

export const configSchema = z
  .object({
    control: z.union([name('control'), z.object(connectionFields).strict().refine(needsOne, ONE_OF)], {
      error:
        'control is where midair keeps the phase and its audit log: a URL (sqlite:midair-control.db, postgres://…) or { env: "MIDAIR_CONTROL_URL" }',
    }),
    migrations: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'a migration name is letters, digits, ".", "_" or "-"' }),
        migrationSchema,
      )
      .refine((m) => Object.keys(m).length > 0, {
        error: 'migrations is empty: declare at least one, e.g. migrations: { users: { old, new } }',
      }),
  })
  .strict();
export type MidairConfig = z.input<typeof configSchema>;
