import type { PhaseState } from '../control/control-store.js';
import type { Key } from '../core/keys.js';
import type { BackfillControl, BackfillOptions, BackfillResult, KeyMappings } from '../backfill/backfill.js';
import type { RangeJobResult } from '../backfill/queued.js';
import type { RepairReport, VerifyOptions, VerifyReport } from '../verify/verify-options.js';
import type { VerifyRangeResult } from '../verify/queued.js';
import type { Jobs, RepairOptions } from './jobs.js';

/**
 * The jobs a migration runs beside the serving path, as its public methods:
 * backfill, sweep, their queued ranges, dead letters, key checks,
 * verification, repair and drain. {@link Migration} extends it and attaches
 * its jobs piece once assembled.
 */
export abstract class MigrationJobs<K extends Key, E extends object> {
  #attached: Jobs<K, E> | undefined;

  protected attachJobs(jobs: Jobs<K, E>): void {
    this.#attached = jobs;
  }

  get #jobs(): Jobs<K, E> {
    if (!this.#attached) throw new Error('the migration has no jobs attached');
    return this.#attached;
  }

  /**
   * Copies old into new: keyset chunks, the conditional bulk write, a
   * checkpoint per chunk (a killed run resumes), adaptive chunk size and a
   * rows/s ceiling, dead letters for rows that cannot be copied. Runs from
   * dual-write to ramp, once every instance writes both stores, so no write
   * can slip past it; refused (status `refused`, nothing written) where new
   * is authoritative — its prune would delete acknowledged writes; a sweep
   * runs there. Resolves a result; never throws halfway.
   *
   * @example
   * ```ts
   * const result = await migration.backfill({ maxRowsPerSecond: 5000, onProgress: (p) => console.log(p.rowsDone, p.total) });
   * if (result.status !== 'complete') console.error(result.status, result.error);
   * ```
   */
  async backfill(options: BackfillOptions<E> = {}): Promise<BackfillResult> {
    return this.#jobs.backfill(options);
  }

  /** One range of a queued backfill or sweep (a `midair worker` job); safe twice at once: its lease and fence decide. */
  async backfillRange(
    job: { readonly name: string; readonly rangeId: number },
    options: BackfillOptions<E> = {},
  ): Promise<RangeJobResult> {
    return this.#jobs.backfillRange(job, options);
  }

  /** One range of a queued verification (a `midair worker` job); safe twice at once: its lease decides. */
  async verifyRange(
    job: { readonly name: string; readonly rangeId: number },
    options: VerifyOptions<E> = {},
  ): Promise<VerifyRangeResult> {
    return this.#jobs.verifyRange(job, options);
  }

  /** Copies what new still lacks (keys in old, absent in new): after a lazy migration, also in old-read-only. */
  async sweep(options: Omit<BackfillOptions<E>, 'missingOnly' | 'tombstonesWin'> = {}): Promise<BackfillResult> {
    return this.#jobs.sweep(options);
  }

  /** Pauses, resumes or retunes a running backfill (any process that shares the control store). */
  async controlBackfill(settings: BackfillControl, name = 'backfill'): Promise<void> {
    return this.#jobs.controlBackfill(settings, name);
  }

  /** Copies the dead letters' keys again, after the code that failed them was fixed (copies only: it never deletes). */
  async retryDeadLetters(
    options: Pick<BackfillOptions<E>, 'transform' | 'signal' | 'keyMappings'> = {},
  ): Promise<{ retried: number; copied: number; stillFailing: number }> {
    return this.#jobs.retryDeadLetters(options);
  }

  /**
   * Accepts the dead letters (all, or `keyIds`) as rows new will not get:
   * needs `force` and a reason, recorded as a `dead-letter-accept` audit
   * entry; then the gates stop blocking on them. Resolves how many.
   */
  async acceptDeadLetters(options: {
    readonly reason: string;
    readonly force: boolean;
    readonly actor?: string;
    readonly keyIds?: readonly string[];
  }): Promise<number> {
    return this.#jobs.acceptDeadLetters(options);
  }

  /**
   * Refuses (SCHEMA_MISMATCH, nothing written) unless the two mappings spell
   * every key the same way: key codecs compared, and a sample of old's real
   * keys read through new's key codecs. Run before a backfill, a
   * verification or a repair where the mappings are known (the CLI does).
   */
  async checkKeys(mappings: KeyMappings, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    return this.#jobs.checkKeys(mappings, options);
  }

  /**
   * Verifies that new holds what old holds, entity by entity: `count`,
   * `sample` (random keys), or `full` (hashes computed inside each database,
   * bisection down to the exact differing keys). Differences seen are read
   * again after a delay; those equal by then are reported as changed during
   * verification. With `repair`, the differing keys are re-synced from the
   * authoritative store and compared again. Resolves a report; never throws halfway.
   *
   * @example
   * ```ts
   * const report = await migration.verify({ mode: 'full', repair: true });
   * console.log(formatVerifyReport(report));
   * process.exitCode = verifyExitCode(report);
   * ```
   */
  async verify(options: VerifyOptions<E> = {}): Promise<VerifyReport> {
    return this.#jobs.verify(options);
  }

  /**
   * Re-syncs keys (key ids, as a verification report lists them) from the
   * store authoritative in the current phase: under the other store's key
   * locks each key is read from the authoritative one and written as read —
   * deleted, leaving a tombstone, where it no longer exists. Runs as one of
   * this instance's writes, so a phase change waits for it. Then compares
   * those keys again (with rechecks, as verification does).
   */
  async repair(keyIds: readonly string[], options: RepairOptions<E> = {}): Promise<RepairReport> {
    return this.#jobs.repair(keyIds, options);
  }

  /**
   * Re-syncs every queued key — delayed intents and others' claims included —
   * from the store authoritative under `state`, each at least once. Entries of
   * writes that may still land stay queued (re-synced again later) until their
   * version is fenced out. Rejects with TIMEOUT if some keep failing past
   * `deadline`. Resolves how many entries were completed.
   */
  async drainRepairs(state?: PhaseState, deadline?: number): Promise<number> {
    return this.#jobs.drainRepairs(state, deadline);
  }
}
