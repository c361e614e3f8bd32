import { MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import type { CallOptions } from '../core/store.js';
import type { Version } from '../core/versions.js';
import type { Arg } from './redis-client.js';
import { SCRIPTS, type RedisParts } from './redis-parts.js';
import type { Cell } from './redis-rows.js';

/** A key's state as one STATE call read it: its revision, tombstone, whether its entity exists, and the cells asked for. */
export interface RawState {
  readonly rev: string;
  readonly tomb: Buffer | null;
  readonly exists: boolean;
  /** The cells of the fields asked for (all, the version's, or none). */
  readonly cells: readonly (Buffer | null)[];
  /** The entity's version, where it exists and its version field was read. */
  readonly version: Version | undefined;
}

/** One write of APPLY: a put (`p` clearing the tombstone, `k` keeping it) or a delete (`d` leaving `extra` as the tombstone, `x` leaving tombstones alone). */
export interface Op<K> {
  readonly key: K;
  readonly kind: 'p' | 'k' | 'd' | 'x';
  /** A put's cells (and `extra` its row hash); a `d`'s tombstone in `extra`. */
  readonly cells?: readonly Cell[];
  readonly extra?: string;
}

/** What a planned key comes to: a write (applied only if the key's revision is still the one read), or a result with none. */
export interface Plan<K, R> {
  readonly op?: Op<K>;
  readonly result: R;
}

/** Fields a STATE call reads: every mapped field, the version alone, or none. */
export type StateFields = 'all' | 'version' | 'none';

/** Writes per APPLY call, and keys per STATE call: one script blocks Redis for a few milliseconds at most. */
const BATCH = 500;
/** Tries per key before a write gives up with CONFLICT (each try that fails means another write of the key landed). */
const MAX_TRIES = 1000;

/**
 * Writes by compare-and-set on each key's revision (docs/decisions/0025):
 * read the keys' state and revision, decide (reading the source where a sync
 * does), then apply each write only where the revision is still the one read
 * — in one script, fence checked first — and decide again for the keys
 * another write changed in between. A write that lands was decided on the
 * key's latest state, which is what a per-key lock gives the SQL stores.
 */
export class RedisCas<K extends Key, E extends object> {
  readonly #p: RedisParts<K, E>;

  constructor(parts: RedisParts<K, E>) {
    this.#p = parts;
  }

  /** The keys' states, in the order given. */
  async state(operation: string, keys: readonly K[], fields: StateFields, options?: CallOptions): Promise<RawState[]> {
    const p = this.#p;
    const names =
      fields === 'all'
        ? p.names
        : fields === 'version' && p.versionAt !== undefined
          ? [p.names[p.versionAt] ?? '']
          : [];
    // Where the version's cell is among the cells read: its own place in a full read, the only cell of a version read.
    const versionCell = fields === 'all' ? p.versionAt : names.length === 1 ? 0 : undefined;
    const out: RawState[] = [];
    for (let from = 0; from < keys.length; from += BATCH) {
      const batch = keys.slice(from, from + BATCH);
      const reply = (await p.run(
        operation,
        SCRIPTS.state,
        [p.mapping.keys.meta, p.mapping.keys.tombs, ...batch.map((k) => p.entityKey(k))],
        [names.length, ...names, ...batch.map((k) => p.order.encode(k))],
        options,
      )) as (Buffer | number | null)[];
      const width = 3 + names.length;
      for (let i = 0; i < batch.length; i++) {
        const at = i * width;
        const exists = reply[at + 2] === 1;
        const cells = reply.slice(at + 3, at + width) as (Buffer | null)[];
        out.push({
          rev: (reply[at] as Buffer).toString('latin1'),
          tomb: reply[at + 1] as Buffer | null,
          exists,
          cells,
          version: exists && versionCell !== undefined ? p.versionFrom(cells[versionCell]) : undefined,
        });
      }
    }
    return out;
  }

  /** Applies writes each if its key's revision is `expect[i]` (`*`: any); one flag per write, in order. */
  async apply(
    operation: string,
    ops: readonly Op<K>[],
    expect: readonly string[],
    options?: CallOptions,
  ): Promise<boolean[]> {
    const p = this.#p;
    const applied: boolean[] = [];
    for (let from = 0; from < ops.length; from += BATCH) {
      const batch = ops.slice(from, from + BATCH);
      const args: Arg[] = p.applyHead(options);
      batch.forEach((op, i) => {
        args.push(p.order.encode(op.key), expect[from + i] ?? '*', op.kind, op.extra ?? '');
        if (op.kind === 'p' || op.kind === 'k') {
          const cells = op.cells ?? [];
          args.push(cells.map((c) => (c === null ? '0' : '1')).join(''));
          for (const c of cells) if (c !== null) args.push(c);
        }
      });
      const reply = (await p.run(
        operation,
        SCRIPTS.apply,
        [...p.applyKeys(), ...batch.map((op) => p.entityKey(op.key))],
        args,
        options,
      )) as number[];
      for (const flag of reply) applied.push(flag === 1);
    }
    return applied;
  }

  /**
   * Plans and applies writes of `keys` until each landed on the state it was
   * planned on (or needed none): resolves each key's result, in order.
   */
  async loop<R>(
    operation: string,
    keys: readonly K[],
    fields: StateFields,
    plan: (keys: readonly K[], states: readonly RawState[]) => Promise<readonly Plan<K, R>[]>,
    options?: CallOptions,
  ): Promise<R[]> {
    const results = new Array<R>(keys.length);
    let pending = keys.map((_, i) => i);
    for (let tries = 1; pending.length > 0; tries++) {
      if (tries > MAX_TRIES)
        throw new MidairError(
          'CONFLICT',
          `${operation} on ${this.#p.name}: ${pending.length} key(s) changed under ${MAX_TRIES} tries in a row; nothing of theirs was written by this call, try again`,
        );
      const pendingKeys = pending.map((i) => keys[i] as K);
      const states = await this.state(operation, pendingKeys, fields, options);
      const plans = await plan(pendingKeys, states);
      this.#p.openWrite(operation, options);
      const writing = pending.flatMap((_, j) => (plans[j]?.op ? [j] : []));
      const applied = await this.apply(
        operation,
        writing.map((j) => plans[j]?.op as Op<K>),
        writing.map((j) => states[j]?.rev ?? ''),
        options,
      );
      const landed = new Set(writing.filter((_, w) => applied[w]));
      const again: number[] = [];
      pending.forEach((i, j) => {
        const planned = plans[j];
        if (!planned) throw new MidairError('UNKNOWN', `${operation} on ${this.#p.name}: a key went unplanned`);
        if (planned.op && !landed.has(j)) again.push(i);
        else results[i] = planned.result;
      });
      pending = again;
    }
    return results;
  }
}
