import { BUCKETS } from '../core/latency-buckets.js';
import type { CallFigures, SideCalls, StoreCallFigures } from './fleet.js';

/**
 * The capacity figures of a heartbeat (`InstanceInfo.storeCalls`) as the
 * control stores keep them: JSON text of the figures as they are, a few
 * dozen bucket pairs per store and kind of call for a real latency
 * distribution, {@link BUCKETS} at most. Read leniently: figures this version cannot read
 * (a newer midair's, a damaged cell) are left out — the gate then counts
 * fewer calls, never wrong ones, and the fleet is still read.
 */

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function kindOf(v: unknown): CallFigures | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { calls, errors, buckets } = v as Record<string, unknown>;
  if (!count(calls) || !count(errors) || errors > calls) return undefined;
  if (!Array.isArray(buckets) || buckets.length > BUCKETS) return undefined;
  const pairs: [number, number][] = [];
  let total = 0;
  let last = -1;
  for (const pair of buckets as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined;
    const [b, n] = pair as unknown[];
    if (!count(b) || b >= BUCKETS || b <= last || !count(n) || n === 0) return undefined;
    pairs.push([b, n]);
    total += n;
    last = b;
  }
  // Every call counted is in the histogram, failed ones too.
  if (total !== calls) return undefined;
  return { calls, errors, buckets: pairs };
}

function sideOf(v: unknown): SideCalls | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const reads = kindOf(o.reads);
  const writes = kindOf(o.writes);
  return reads && writes ? { reads, writes } : undefined;
}

/** The figures in `value`, or `undefined` when it is not well-formed figures. */
export function readStoreCalls(value: unknown): StoreCallFigures | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  if (!count(o.phaseVersion)) return undefined;
  const old = sideOf(o.old);
  const neu = sideOf(o.new);
  return old && neu ? { phaseVersion: o.phaseVersion, old, new: neu } : undefined;
}

/** Why a heartbeat's figures cannot be stored, or `undefined` when they can. */
export function storeCallsProblem(figures: StoreCallFigures | undefined): string | undefined {
  if (figures === undefined || readStoreCalls(figures)) return undefined;
  return `storeCalls must hold a phase version and, for the reads and the writes of old and of new, calls, errors (at most calls) and at most ${BUCKETS} [bucket, count] pairs in ascending bucket order whose counts add up to calls`;
}

export function encodeStoreCalls(figures: StoreCallFigures): string {
  const kind = (k: CallFigures): CallFigures => ({ calls: k.calls, errors: k.errors, buckets: k.buckets });
  const side = (s: SideCalls): SideCalls => ({ reads: kind(s.reads), writes: kind(s.writes) });
  return JSON.stringify({ phaseVersion: figures.phaseVersion, old: side(figures.old), new: side(figures.new) });
}

/** The figures in a cell's text; `undefined` for none, or for text this version cannot read. */
export function decodeStoreCalls(text: string | null): StoreCallFigures | undefined {
  if (text === null) return undefined;
  try {
    return readStoreCalls(JSON.parse(text));
  } catch {
    return undefined;
  }
}
