import { entityHash } from '../core/canonical.js';
import type { Key } from '../core/keys.js';
import type { CallOptions, HashPushdown, KeyRange, RangeHash } from '../core/store.js';
import { SCRIPTS, type RedisParts } from './redis-parts.js';
import type { RedisReads } from './redis-reads.js';

/** Members hashed per script: a call blocks Redis for a few milliseconds at most. */
const CHUNK = 2000;

/**
 * Verification's hashes read from Redis, not rows: every write through the
 * store keeps the entity's canonical row hash beside it with a digest of the
 * fields it was computed from, and a script sums the hashes of a key range
 * whose digests still match the entity (docs/decisions/0025). Keys whose
 * hash is missing or stale — written without midair — are read and hashed
 * here. The kept hashes cover every field, so a verification that ignores
 * some fields scans entities instead.
 */
export class RedisHashing<K extends Key, E extends object> implements HashPushdown<K> {
  readonly #p: RedisParts<K, E>;
  readonly #reads: RedisReads<K, E>;

  constructor(parts: RedisParts<K, E>, reads: RedisReads<K, E>) {
    this.#p = parts;
    this.#reads = reads;
  }

  hashUnsupported(ignore: ReadonlySet<string>): string | undefined {
    return ignore.size === 0
      ? undefined
      : `${this.#p.name} keeps row hashes over every field; with fields ignored, verification hashes scanned entities`;
  }

  async hashRange(range: KeyRange<K>, ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash> {
    const [whole] = await this.hashParts(range, [], ignore, options);
    return whole ?? { count: 0, sum: 0n };
  }

  async hashParts(
    range: KeyRange<K>,
    splits: readonly K[],
    ignore: ReadonlySet<string>,
    options?: CallOptions,
  ): Promise<RangeHash[]> {
    const bounds = [range.after, ...splits, range.through];
    const parts: RangeHash[] = [];
    for (let i = 0; i + 1 < bounds.length; i++)
      parts.push(await this.#part({ after: bounds[i], through: bounds[i + 1], within: range.within }, ignore, options));
    return parts;
  }

  async #part(range: KeyRange<K>, ignore: ReadonlySet<string>, options?: CallOptions): Promise<RangeHash> {
    const p = this.#p;
    const lex = p.lex(range);
    if (lex.empty) return { count: 0, sum: 0n };
    let count = 0;
    let sum = 0n;
    let min = lex.min;
    for (;;) {
      const members = await p.call(
        'hashRange',
        async () => p.client.zrangebylexBuffer(p.mapping.keys.index, min, lex.max, 'LIMIT', 0, CHUNK),
        options,
      );
      if (members.length === 0) break;
      const keys = members.map((m) => p.order.decode(m));
      const reply = (await p.run(
        'hashRange',
        SCRIPTS.hash,
        [p.mapping.keys.meta, ...keys.map((k) => p.entityKey(k))],
        [p.names.length, ...p.names, ...members],
        options,
      )) as number[];
      const [n = 0, s1 = 0, s2 = 0, s3 = 0, ...stale] = reply;
      count += n;
      sum += (BigInt(s1) << 40n) + (BigInt(s2) << 20n) + BigInt(s3);
      if (stale.length > 0) {
        const rows = await this.#reads.getMany(
          stale.map((at) => keys[at - 1] as K),
          options,
        );
        for (const row of rows) {
          if (row === undefined) continue;
          count++;
          sum += entityHash(row, ignore);
        }
      }
      if (members.length < CHUNK) break;
      min = Buffer.concat([Buffer.from('('), members[members.length - 1] as Buffer]);
    }
    return { count, sum };
  }
}
