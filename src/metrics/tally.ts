import type { StoreCall } from '../migration/events.js';
import type { HistogramSample, Sample } from './catalogue.js';
import { codeLabel, opLabel } from './labels.js';

/**
 * Counts kept in plain numbers as events happen, and handed to an exporter
 * only when it collects: the path of a store call adds to a number and looks
 * up two maps by strings it already holds, allocating nothing once its
 * combination was seen. An exporter's own per-call work (hashing label sets)
 * would cost more than the call it measures.
 */
export class Counts {
  readonly #counts = new Map<string, number>();

  /** `label`: the one label (none: a single count, exported as 0 before its first event); `known`: its values, exported as 0 from the start. */
  constructor(
    readonly label?: string,
    known: readonly string[] = label === undefined ? [''] : [],
  ) {
    for (const value of known) this.#counts.set(value, 0);
  }

  inc(value = ''): void {
    this.#counts.set(value, (this.#counts.get(value) ?? 0) + 1);
  }

  samples(migration: string): Sample[] {
    const label = this.label;
    return [...this.#counts].map(([value, count]) => ({
      labels: label === undefined ? { migration } : { migration, [label]: value },
      value: count,
    }));
  }
}

/** Counts by two labels. */
export class Counts2 {
  readonly #counts = new Map<string, Map<string, number>>();

  constructor(
    readonly first: string,
    readonly second: string,
  ) {}

  inc(a: string, b: string): void {
    let inner = this.#counts.get(a);
    if (!inner) this.#counts.set(a, (inner = new Map<string, number>()));
    inner.set(b, (inner.get(b) ?? 0) + 1);
  }

  samples(migration: string): Sample[] {
    const out: Sample[] = [];
    for (const [a, inner] of this.#counts)
      for (const [b, count] of inner)
        out.push({ labels: { migration, [this.first]: a, [this.second]: b }, value: count });
    return out;
  }
}

/** One store operation on one side: its calls by result, and their times in the histogram's buckets. */
class CallCell {
  ok = 0;
  readonly failed = new Map<string, number>();
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly side: string,
    readonly op: string,
    readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length + 1);
  }

  record(call: StoreCall): void {
    if (call.error === undefined) this.ok++;
    else {
      const code = codeLabel(call.error);
      this.failed.set(code, (this.failed.get(code) ?? 0) + 1);
    }
    const seconds = call.ms / 1000;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    (this.buckets[i] as number)++;
    this.sum += seconds;
    this.count++;
  }
}

/** The store calls of one migration: counts by side, operation and result, and a histogram of their times per side and operation. */
export class CallTally {
  readonly #old = new Map<string, CallCell>();
  readonly #new = new Map<string, CallCell>();

  constructor(readonly bounds: readonly number[]) {}

  record(call: StoreCall): void {
    const cells = call.side === 'old' ? this.#old : this.#new;
    let cell = cells.get(call.op);
    if (!cell) {
      // An operation outside the set is counted under `other` (and its name is not kept: the map stays bounded).
      const op = opLabel(call.op);
      cell = cells.get(op);
      if (!cell) {
        cell = new CallCell(call.side, op, this.bounds);
        cells.set(op, cell);
      }
    }
    cell.record(call);
  }

  #cells(): CallCell[] {
    return [...this.#old.values(), ...this.#new.values()];
  }

  calls(migration: string): Sample[] {
    const out: Sample[] = [];
    for (const c of this.#cells()) {
      const labels = { migration, side: c.side, op: c.op };
      if (c.ok > 0) out.push({ labels: { ...labels, result: 'ok' }, value: c.ok });
      for (const [result, value] of c.failed) out.push({ labels: { ...labels, result }, value });
    }
    return out;
  }

  durations(migration: string): HistogramSample[] {
    return this.#cells().map((c) => ({
      labels: { migration, side: c.side, op: c.op },
      bounds: c.bounds,
      buckets: c.buckets,
      sum: c.sum,
      count: c.count,
    }));
  }
}
