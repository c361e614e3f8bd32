import { keyReader, versionReader } from '../core/entity.js';
import { MidairError, throwIfAborted } from '../core/errors.js';
import { fencedError, validateFences } from '../core/fence-rules.js';
import type { Key } from '../core/keys.js';
import type { CallOptions, KeyRange, Tombstone } from '../core/store.js';
import type { Version } from '../core/versions.js';
import { redisError, Script, type Arg, type RedisClient } from './redis-client.js';
import { APPLY, COUNT_UNINDEXED, HASH, INDEX_EXISTING, RAISE_FENCE, STATE } from './redis-lua.js';
import type { RedisMapping } from './redis-mapping.js';
import { RedisRows } from './redis-rows.js';
import type { OrderKeys } from './order-key.js';

export const SCRIPTS = {
  apply: new Script(APPLY),
  state: new Script(STATE),
  hash: new Script(HASH),
  raiseFence: new Script(RAISE_FENCE),
  indexExisting: new Script(INDEX_EXISTING),
  countUnindexed: new Script(COUNT_UNINDEXED),
} as const;

/** Bounds of a lex range of the index: `-`/`+` when open, `(`/`[` before a member. */
export interface LexRange {
  readonly min: Buffer;
  readonly max: Buffer;
  /** The range is empty (a lower bound at or past the upper one). */
  readonly empty: boolean;
  /** The member the range starts after (`undefined`: from the first key). */
  readonly after: Buffer | undefined;
}

const OPEN_MIN = Buffer.from('-');
const OPEN_MAX = Buffer.from('+');

/** What every piece of the Redis store shares: the client, the mapping, key and row encodings, and the store's state. */
export class RedisParts<K extends Key, E extends object> {
  readonly name: string;
  readonly client: RedisClient;
  readonly mapping: RedisMapping<E>;
  readonly order: OrderKeys<K>;
  readonly rows: RedisRows<E>;
  readonly keyOf: (entity: E) => K;
  readonly versionOf: (entity: E) => Version | undefined;
  /** The hash field names, in the mapping's order. */
  readonly names: readonly string[];
  /** The version field's position among the fields, if versioned. */
  readonly versionAt: number | undefined;
  closed = false;

  constructor(client: RedisClient, mapping: RedisMapping<E>, name: string) {
    this.name = name;
    this.client = client;
    this.mapping = mapping;
    this.order = mapping.order as OrderKeys<K>;
    this.rows = new RedisRows<E>(mapping.fields, name);
    this.keyOf = keyReader<K, E>(mapping.keyFields, `${name}.keyOf`);
    this.versionOf = versionReader<E>(mapping.versionField);
    this.names = mapping.fields.map((f) => f.name);
    const at = mapping.fields.findIndex((f) => f.field === mapping.versionField);
    this.versionAt = at === -1 ? undefined : at;
  }

  open(operation: string, options?: CallOptions): void {
    if (this.closed) throw new MidairError('CLOSED', `${operation} on ${this.name}: the store is closed`);
    throwIfAborted(options?.signal, operation);
  }

  openWrite(operation: string, options?: CallOptions): void {
    this.open(operation, options);
    validateFences(options, `${operation} on ${this.name}`);
  }

  entityKey(key: K): string {
    return `${this.mapping.prefix}${this.order.text(key)}`;
  }

  /** Runs a script; Redis's errors become midair's (a fence refusal FENCED). */
  async run(operation: string, script: Script, keys: readonly Arg[], args: readonly Arg[], options?: CallOptions) {
    this.open(operation, options);
    try {
      return await script.run(this.client, keys, args);
    } catch (error) {
      const fenced = /MIDAIR_FENCED (\d+) ([13])/.exec(String((error as Error).message));
      const fence = fenced?.[2] === '3' ? options?.lease : options?.fence;
      if (fenced && fence) throw fencedError(this.name, operation, fence, Number(fenced[1]));
      throw redisError(error, this.name, operation);
    }
  }

  /** Runs a plain command through `fn`, its errors as midair's. */
  async call<T>(operation: string, fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    this.open(operation, options);
    try {
      return await fn();
    } catch (error) {
      throw redisError(error, this.name, operation);
    }
  }

  /** A key range as index bounds, `within` intersected in. */
  lex(range: KeyRange<K>): LexRange {
    let after = range.after === undefined ? undefined : this.order.encode(range.after);
    let through = range.through === undefined ? undefined : this.order.encode(range.through);
    for (const w of range.within ?? []) {
      if (w.after !== undefined) {
        const a = this.order.encode(w.after);
        if (after === undefined || Buffer.compare(a, after) > 0) after = a;
      }
      if (w.through !== undefined) {
        const t = this.order.encode(w.through);
        if (through === undefined || Buffer.compare(t, through) < 0) through = t;
      }
    }
    return {
      min: after === undefined ? OPEN_MIN : Buffer.concat([Buffer.from('('), after]),
      max: through === undefined ? OPEN_MAX : Buffer.concat([Buffer.from('['), through]),
      empty: after !== undefined && through !== undefined && Buffer.compare(after, through) >= 0,
      after,
    };
  }

  /** A version in the version field's text form (what a tombstone holds). */
  versionText(version: Version | undefined): string {
    if (version === undefined || this.versionAt === undefined) return '';
    const cell = this.rows.encode({ [this.mapping.versionField as string]: version } as E)[this.versionAt];
    return cell === null || cell === undefined ? '' : cell.toString();
  }

  /** The version a hash's version cell holds. */
  versionFrom(cell: Buffer | null | undefined): Version | undefined {
    if (this.versionAt === undefined || cell === null || cell === undefined) return undefined;
    const field = this.mapping.fields[this.versionAt];
    return field?.codec.decode(cell, 'sqlite');
  }

  /** A tombstone record: `<deleted at ms>|<version text>`. */
  tombstoneText(version: Version | undefined, at = new Date()): string {
    return `${at.getTime()}|${this.versionText(version)}`;
  }

  tombstoneFrom(key: K, raw: Buffer | null | undefined): Tombstone<K> | undefined {
    if (raw === null || raw === undefined) return undefined;
    const text = raw.toString('utf8');
    const bar = text.indexOf('|');
    const version =
      bar === -1 || bar === text.length - 1 ? undefined : this.versionFrom(Buffer.from(text.slice(bar + 1)));
    return { key, version, deletedAt: new Date(Number(bar === -1 ? text : text.slice(0, bar))) };
  }

  /** The arguments every APPLY call starts with: the fence and the lease's, then the fields. */
  applyHead(options?: CallOptions): Arg[] {
    const { fence, lease } = options ?? {};
    return [
      fence?.migration ?? '',
      fence?.epoch ?? 0,
      lease?.migration ?? '',
      lease?.epoch ?? 0,
      this.names.length,
      ...this.names,
    ];
  }

  /** The keys every APPLY call starts with. */
  applyKeys(): string[] {
    const k = this.mapping.keys;
    return [k.index, k.meta, k.tombs, k.fences, k.clock];
  }
}
