import { MidairError, type Side } from '../../src/index.js';

/** One client call as the history saw it. Times are logical (a counter), so "before" is exact. */
export interface OpRecord {
  readonly client: number;
  readonly instance: number;
  readonly kind: 'put' | 'delete' | 'get';
  readonly key: number;
  /** What a put wrote (a unique tag). */
  readonly tag?: string;
  readonly start: number;
  end: number;
  ok: boolean;
  /** What a get returned: a tag, or null for "absent". */
  result?: string | null;
  error?: unknown;
  authAtStart: Side;
  authAtEnd?: Side;
  /** The fleet's phase when the call started (for explaining violations). */
  phaseAtStart?: string;
}

export interface Violation {
  readonly invariant: 1 | 2 | 3 | 4 | 5 | 6;
  readonly message: string;
}

const stateOf = (w: OpRecord): string | null => (w.kind === 'put' ? (w.tag ?? null) : null);
const isWrite = (o: OpRecord): boolean => o.kind !== 'get';

/**
 * Which states a key may be in at time `at`: every write not superseded by
 * then — a write is superseded once an acknowledged write on the same key
 * started after it ended and itself ended before `at`. A failed write may
 * still apply late (a store that hung past the timeout, a write committing
 * after its caller's timeout, a paused instance resuming), and a killed
 * instance's write may or may not have applied (it counts as failed), so a
 * failed write is never superseded. "Absent" is allowed until the first
 * acknowledged write ends. What this rules out is exactly a state older than
 * one an acknowledged write had already replaced or deleted.
 */
export function allowedStates(
  writes: readonly OpRecord[],
  at: number,
  startedBefore = Number.POSITIVE_INFINITY,
): Set<string | null> {
  const allowed = new Set<string | null>();
  const acked = writes.filter((w) => w.ok);
  if (!acked.some((w) => w.end < at)) allowed.add(null);
  for (const w of writes) {
    if (w.start >= startedBefore) continue;
    const superseded = w.ok && acked.some((y) => y !== w && y.start > w.end && y.end < at);
    if (!superseded) allowed.add(stateOf(w));
  }
  return allowed;
}

/** Invariants 2 and 3 for reads: a read returns a state some linearization allows — never a deleted or overwritten one. */
export function checkReads(ops: readonly OpRecord[]): Violation[] {
  const out: Violation[] = [];
  const byKey = groupByKey(ops);
  for (const [key, list] of byKey) {
    const writes = list.filter(isWrite);
    for (const r of list) {
      if (r.kind !== 'get' || !r.ok) continue;
      const allowed = allowedStates(writes, r.start, r.end);
      if (!allowed.has(r.result ?? null)) {
        // A value where only "absent" was allowed is a resurrection; any other stale answer breaks read-your-writes.
        const invariant = r.result !== null && allowed.size === 1 && allowed.has(null) ? 2 : 3;
        out.push({
          invariant,
          message: `client ${r.client} read key ${key} as ${r.result ?? 'absent'} at t${r.start} (instance ${r.instance}); allowed: ${[...allowed].map((a) => a ?? 'absent').join(', ')}`,
        });
      }
    }
  }
  return out;
}

/** Invariant 1 (and 2): the authoritative store ends in an allowed state, and the other store equals it. */
export function checkFinal(
  ops: readonly OpRecord[],
  finalA: ReadonlyMap<number, string | null>,
  finalB: ReadonlyMap<number, string | null> | undefined,
): Violation[] {
  const out: Violation[] = [];
  const byKey = groupByKey(ops);
  const keys = new Set([...byKey.keys(), ...finalA.keys(), ...(finalB?.keys() ?? [])]);
  for (const key of keys) {
    const writes = (byKey.get(key) ?? []).filter(isWrite);
    const a = finalA.get(key) ?? null;
    const allowed = allowedStates(writes, Number.POSITIVE_INFINITY);
    if (!allowed.has(a)) {
      out.push({
        invariant: a === null ? 1 : 2,
        message: `key ${key} ended as ${a ?? 'absent'} in the authoritative store; allowed: ${[...allowed].map((x) => x ?? 'absent').join(', ')}`,
      });
    }
    if (finalB) {
      const b = finalB.get(key) ?? null;
      if (b !== a)
        out.push({
          invariant: b !== null && a === null ? 2 : 1,
          message: `key ${key} ended as ${b ?? 'absent'} in the other store but ${a ?? 'absent'} in the authoritative one`,
        });
    }
  }
  return out;
}

/** Invariant 4: no client saw an error that came from the store that was not authoritative for the phase serving its call. */
export function checkErrors(ops: readonly OpRecord[]): Violation[] {
  const out: Violation[] = [];
  for (const o of ops) {
    const e = o.error;
    if (o.ok || !(e instanceof MidairError)) continue;
    if (e.details.authoritative === false) {
      out.push({
        invariant: 4,
        message: `client ${o.client} got ${e.code} from the non-authoritative ${e.details.side ?? '?'} store on ${o.kind} of key ${o.key}`,
      });
    }
  }
  return out;
}

function groupByKey(ops: readonly OpRecord[]): Map<number, OpRecord[]> {
  const m = new Map<number, OpRecord[]>();
  for (const o of ops) {
    const list = m.get(o.key) ?? [];
    list.push(o);
    m.set(o.key, list);
  }
  return m;
}
