import { CHECKPOINTS, loadCheckpoint, saveCheckpoint } from '../control/checkpoints.js';
import type { ControlStore, RangeLease } from '../control/control-store.js';

/**
 * How many rows each leased range of a parallel backfill has copied, kept
 * beside the range (its holder saves it after every chunk), so that a resumed
 * run's progress starts from the rows copied before it — by this process or
 * another. A range that was split anew (other bounds) or has no progress yet
 * counts from 0; a worker that lost its lease may leave its last chunk
 * counted twice until the new holder saves.
 */
export class RangeRows {
  readonly #held = new Map<number, { token: number; rows: number }>();

  constructor(
    readonly control: ControlStore,
    readonly migration: string,
    readonly name: string,
  ) {}

  /** The rows copied so far over every range (at the start of a run: by the runs before it). */
  async copiedBefore(): Promise<number> {
    let rows = 0;
    for (const range of await this.control.ranges(this.migration, this.name)) rows += await this.#saved(range);
    return rows;
  }

  /** Counts `read` more rows in the leased range and saves the range's total. */
  async add(lease: RangeLease, read: number): Promise<void> {
    let held = this.#held.get(lease.rangeId);
    if (held?.token !== lease.token) {
      held = { token: lease.token, rows: await this.#saved(lease) };
      this.#held.set(lease.rangeId, held);
    }
    held.rows += read;
    await saveCheckpoint(this.control, this.migration, CHECKPOINTS.backfillRangeRows(this.name, lease.rangeId), {
      ...(lease.lo === undefined ? {} : { lo: lease.lo }),
      ...(lease.hi === undefined ? {} : { hi: lease.hi }),
      rows: held.rows,
    });
  }

  /** What the range's checkpoint says it copied, if it describes this range with progress (else 0). */
  async #saved(range: RangeLease): Promise<number> {
    if (!range.complete && range.after === undefined) return 0;
    const saved = await loadCheckpoint(
      this.control,
      this.migration,
      CHECKPOINTS.backfillRangeRows(this.name, range.rangeId),
    );
    return saved && saved.lo === range.lo && saved.hi === range.hi ? saved.rows : 0;
  }
}
