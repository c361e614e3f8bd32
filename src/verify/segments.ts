import { keyId, type Key } from '../core/keys.js';
import type { KeyRange, RangeHash } from '../core/store.js';
import { addCandidate, classify, isYoung, type Findings } from './findings.js';
import { partRange, type VerifySide } from './sides.js';

export interface SegmentContext<K extends Key, E extends object> {
  readonly old: VerifySide<K, E>;
  readonly new: VerifySide<K, E>;
  readonly ignore: ReadonlySet<string>;
  readonly leafRows: number;
  readonly factor: number;
  readonly minAgeMs: number | undefined;
  readonly trackLimit: number;
  readonly signal: AbortSignal | undefined;
}

/** Past this depth a differing segment is compared row by row whatever its size (a guard; bisection converges long before). */
const MAX_DEPTH = 32;

/**
 * Compares one key range: both sides hash it; equal hashes (and counts) mean
 * equal entities (what matched is worked out at the end, from old's rows and
 * the keys that differed: see verify.ts); otherwise a small range is compared
 * row by row, a large one is cut at the keys of its larger side into
 * `factor` parts — by row position, so gaps in the key space do not matter —
 * which both sides hash in one pass each, and each part that differs is
 * compared in turn (with the hashes already in hand). Resolves the range's
 * size on each side.
 */
export async function compareSegment<K extends Key, E extends object>(
  ctx: SegmentContext<K, E>,
  range: KeyRange<K>,
  findings: Findings,
  depth = 0,
  known?: readonly [RangeHash, RangeHash],
  presplitRows?: number,
): Promise<{ old: number; new: number }> {
  const signal = ctx.signal;
  if (!known && presplitRows !== undefined && presplitRows > ctx.leafRows) {
    // Differences are expected here: cut the range first, so one pass per side hashes the whole and its parts.
    return compareParts(
      ctx,
      range,
      await cutPoints(ctx, ctx.old, range, Math.ceil(presplitRows / ctx.factor)),
      findings,
      depth,
    );
  }
  let hashes = known;
  if (!hashes) {
    hashes = await Promise.all([ctx.old.hash(range, { signal }), ctx.new.hash(range, { signal })]);
    findings.segments.hashed++;
  }
  const [a, b] = hashes;
  const sizes = { old: a.count, new: b.count };
  if (a.count === b.count && a.sum === b.sum) return sizes;
  findings.segments.differing++;
  const big = Math.max(a.count, b.count);
  if (big <= ctx.leafRows || depth >= MAX_DEPTH) {
    await compareRows(ctx, range, findings);
    return sizes;
  }
  await compareParts(
    ctx,
    range,
    await cutPoints(ctx, a.count >= b.count ? ctx.old : ctx.new, range, Math.ceil(big / ctx.factor)),
    findings,
    depth,
  );
  return sizes;
}

/** Up to `factor - 1` keys of `splitter` cutting `range` every `step` rows. */
async function cutPoints<K extends Key, E extends object>(
  ctx: SegmentContext<K, E>,
  splitter: VerifySide<K, E>,
  range: KeyRange<K>,
  step: number,
): Promise<K[]> {
  const keys = await splitter.keysEvery(range, step, ctx.factor - 1, { signal: ctx.signal });
  // A cut at the range's own end would leave an empty last part.
  const end = range.through === undefined ? undefined : keyId(range.through);
  const at = keys.findIndex((k) => keyId(k) === end);
  return at < 0 ? keys : keys.slice(0, at);
}

/** Hashes the parts of `range` cut at `splits` on both sides (one pass each) and compares each part; resolves the range's sizes. */
async function compareParts<K extends Key, E extends object>(
  ctx: SegmentContext<K, E>,
  range: KeyRange<K>,
  splits: readonly K[],
  findings: Findings,
  depth: number,
): Promise<{ old: number; new: number }> {
  const [pa, pb] = await Promise.all([
    ctx.old.hashParts(range, splits, { signal: ctx.signal }),
    ctx.new.hashParts(range, splits, { signal: ctx.signal }),
  ]);
  findings.segments.hashed += pa.length;
  const sizes = { old: 0, new: 0 };
  for (let i = 0; i <= splits.length; i++) {
    const part: readonly [RangeHash, RangeHash] = [pa[i] as RangeHash, pb[i] as RangeHash];
    sizes.old += part[0].count;
    sizes.new += part[1].count;
    await compareSegment(ctx, partRange(range, splits, i), findings, depth + 1, part);
  }
  return sizes;
}

/** The leaf: both sides' entities in the range, compared field by field. */
export async function compareRows<K extends Key, E extends object>(
  ctx: SegmentContext<K, E>,
  range: KeyRange<K>,
  findings: Findings,
): Promise<void> {
  findings.segments.rowCompared++;
  const [olds, news] = await Promise.all([
    ctx.old.entities(range, { signal: ctx.signal }),
    ctx.new.entities(range, { signal: ctx.signal }),
  ]);
  const byId = new Map<string, { o?: E; n?: E }>();
  for (const e of olds) byId.set(keyId(ctx.old.store.keyOf(e)), { o: e });
  for (const e of news) {
    const id = keyId(ctx.new.store.keyOf(e));
    const pair = byId.get(id);
    if (pair) pair.n = e;
    else byId.set(id, { n: e });
  }
  const now = Date.now();
  for (const [id, { o, n }] of byId) {
    const c = classify(o, n, ctx.ignore);
    if (!c) continue;
    if (isYoung(ctx.old.store, o, ctx.minAgeMs, now) || isYoung(ctx.new.store, n, ctx.minAgeMs, now))
      findings.young.set(id, o !== undefined);
    else addCandidate(findings, id, c, ctx.trackLimit);
  }
}
