import type { CheckProblem, CheckReport } from '../core/check-report.js';
import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import { execAll } from './redis-client.js';
import { SCRIPTS, type RedisParts } from './redis-parts.js';

/** Entities `check()` decodes, and keys under the prefix it looks up in the index. */
const SAMPLE = 100;
/** SCAN pages (of about 1 000 keys each) `check()` walks looking for entities under the prefix. */
const SCAN_PAGES = 100;

/**
 * What a Redis store's `check()` reports: persistence that can lose
 * acknowledged writes, fields of sampled entities that do not decode with
 * their codec (field names only, never values), entities under the prefix
 * the index does not list, and a missing version field.
 */
export async function checkRedis<K extends Key, E extends object>(
  p: RedisParts<K, E>,
  options?: CallOptions,
): Promise<CheckReport> {
  p.open('check', options);
  const problems: CheckProblem[] = [...(await durability(p, options)), ...(await decoding(p, options))];
  problems.push(...(await unindexed(p, options)));
  if (p.versionAt === undefined)
    problems.push({
      code: 'MISSING_VERSION',
      severity: 'warning',
      message: `${p.name} has no version field: conditional writes are insert-only (never overwrite); verification's repair closes the gap`,
    });
  return { store: p.name, ok: !problems.some((x) => x.severity === 'error'), problems };
}

/** Redis acknowledges a write before it is on disk unless every write is fsynced: say how much a crash can lose. */
async function durability<K extends Key, E extends object>(
  p: RedisParts<K, E>,
  options?: CallOptions,
): Promise<CheckProblem[]> {
  let settings: Record<string, string>;
  try {
    const pairs = await p.call(
      'check',
      async () => {
        const pipeline = p.client.pipeline();
        pipeline.config('GET', 'appendonly');
        pipeline.config('GET', 'appendfsync');
        return (await execAll(pipeline)) as string[][];
      },
      options,
    );
    settings = Object.fromEntries(
      pairs.flatMap((kv): [string, string][] => (kv[0] !== undefined && kv[1] !== undefined ? [[kv[0], kv[1]]] : [])),
    );
  } catch {
    return [
      {
        code: 'DURABILITY',
        severity: 'warning',
        message: `${p.name}: CONFIG GET is not allowed here, so midair cannot tell whether a crash loses writes; a migration's guarantees need appendonly yes with appendfsync always (everysec loses up to a second of writes)`,
      },
    ];
  }
  if (settings.appendonly !== 'yes')
    return [
      {
        code: 'DURABILITY',
        severity: 'warning',
        message: `${p.name}: appendonly is off, so a crash loses every write since the last snapshot (and with it writes midair counted as copied); set appendonly yes and appendfsync always for a migration's guarantees`,
      },
    ];
  if (settings.appendfsync !== 'always')
    return [
      {
        code: 'DURABILITY',
        severity: 'warning',
        message: `${p.name}: appendfsync is ${settings.appendfsync ?? 'unknown'}, so a crash can lose up to a second of acknowledged writes; set appendfsync always for a migration's guarantees, or verify after any Redis restart`,
      },
    ];
  return [];
}

/** Sampled entities decoded field by field: the fields that fail are named, once each. */
async function decoding<K extends Key, E extends object>(
  p: RedisParts<K, E>,
  options?: CallOptions,
): Promise<CheckProblem[]> {
  const members = await p.call('check', async () => p.client.zrandmemberBuffer(p.mapping.keys.index, SAMPLE), options);
  if (members.length === 0) return [];
  const rows = await p.call(
    'check',
    async () => {
      const pipeline = p.client.pipeline();
      for (const m of members) pipeline.hmgetBuffer(p.entityKey(p.order.decode(m)), ...p.names);
      return (await execAll(pipeline)) as (Buffer | null)[][];
    },
    options,
  );
  const failing = new Map<string, number>();
  for (const cells of rows)
    p.mapping.fields.forEach((f, i) => {
      const cell = cells[i];
      if (cell === null || cell === undefined) return;
      try {
        f.codec.decode(cell, 'sqlite');
      } catch {
        failing.set(f.field, (failing.get(f.field) ?? 0) + 1);
      }
    });
  return [...failing].map(([field, n]) => ({
    code: 'TYPE_MISMATCH' as const,
    severity: 'error' as const,
    field,
    column: p.mapping.fields.find((f) => f.field === field)?.name,
    message: `${p.name}: field "${field}" does not decode with its codec in ${n} of ${rows.length} sampled entities; map it with the codec its values are written in`,
  }));
}

/**
 * Entities under the prefix, found by SCAN (up to {@link SAMPLE} of them, or
 * {@link SCAN_PAGES} pages of the keyspace), looked up in the index: those
 * written without midair and not indexed yet.
 */
async function unindexed<K extends Key, E extends object>(
  p: RedisParts<K, E>,
  options?: CallOptions,
): Promise<CheckProblem[]> {
  const { prefix, keys } = p.mapping;
  const names: string[] = [];
  let cursor = '0';
  for (let page = 0; page < SCAN_PAGES && names.length < SAMPLE; page++) {
    const [next, found] = await p.call(
      'check',
      async () => p.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000, 'TYPE', 'hash'),
      options,
    );
    names.push(...found);
    cursor = next;
    if (cursor === '0') break;
  }
  const found = names.flatMap((n) => {
    const key = p.order.parseText(n.slice(prefix.length));
    return key === undefined ? [] : [{ name: n, member: p.order.encode(key) }];
  });
  if (found.length === 0) return [];
  const missing = (await p.run(
    'check',
    SCRIPTS.countUnindexed,
    [keys.index, ...found.map((f) => f.name)],
    found.map((f) => f.member),
    options,
  )) as number;
  if (missing === 0) return [];
  return [
    {
      code: 'UNINDEXED',
      severity: 'error',
      message: `${p.name}: ${missing} of ${found.length} sampled entities under "${prefix}" are not in midair's key index, so scans, counts and verification would miss them; run setup() (it indexes what the prefix holds), deleting ${keys.indexed} first if setup() ran before, and write only through midair from then on`,
    },
  ];
}
