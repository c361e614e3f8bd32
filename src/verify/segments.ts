import { keyId, type Key } from '../keys.js';
import type { KeyRange } from '../store.js';
import { addCandidate, classify, isYoung, type Findings } from './findings.js';
import type { VerifySide } from './sides.js';

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
 * the keys that differed: see verify.ts); otherwise a small range is compared row by row, a large
 * one is split at the keys of its larger side into `factor` parts — by row
 * position, so gaps in the key space do not matter — and each part compared
 * again. Resolves the range's size on each side.
 */
export async function compareSegment<K extends Key, E extends object>(ctx: SegmentContext<K, E>, range: KeyRange<K>, findings: Findings, depth = 0): Promise<{ old: number; new: number }> {
  const signal = ctx.signal;
  const [a, b] = await Promise.all([ctx.old.hash(range, { signal }), ctx.new.hash(range, { signal })]);
  findings.segments.hashed++;
  const sizes = { old: a.count, new: b.count };
  if (a.count === b.count && a.sum === b.sum) return sizes;
  findings.segments.differing++;
  const big = Math.max(a.count, b.count);
  if (big <= ctx.leafRows || depth >= MAX_DEPTH) {
    await compareRows(ctx, range, findings);
    return sizes;
  }
  const splitter = a.count >= b.count ? ctx.old : ctx.new;
  const step = Math.ceil(big / ctx.factor);
  // Each part also lies within this range: where the engines order keys differently, a part cut at one
  // side's keys must not reach outside its parent on the other side (else bisection need not converge).
  const within = [...(range.within ?? []), { after: range.after, through: range.through }];
  let lo = range.after;
  for (let i = 1; i < ctx.factor; i++) {
    const hi = await splitter.keyAt({ after: lo, through: range.through, within: range.within }, step, { signal });
    if (hi === undefined || (range.through !== undefined && keyId(hi) === keyId(range.through))) break;
    await compareSegment(ctx, { after: lo, through: hi, within }, findings, depth + 1);
    lo = hi;
  }
  await compareSegment(ctx, { after: lo, through: range.through, within }, findings, depth + 1);
  return sizes;
}

/** The leaf: both sides' entities in the range, compared field by field. */
export async function compareRows<K extends Key, E extends object>(ctx: SegmentContext<K, E>, range: KeyRange<K>, findings: Findings): Promise<void> {
  findings.segments.rowCompared++;
  const [olds, news] = await Promise.all([ctx.old.entities(range, { signal: ctx.signal }), ctx.new.entities(range, { signal: ctx.signal })]);
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
    if (isYoung(ctx.old.store, o, ctx.minAgeMs, now) || isYoung(ctx.new.store, n, ctx.minAgeMs, now)) findings.young.set(id, o !== undefined);
    else addCandidate(findings, id, c, ctx.trackLimit);
  }
}
