import type { ControlStore, PhaseState } from '../control/control-store.js';
import { errorSummary, MidairError } from '../core/errors.js';
import type { Key } from '../core/keys.js';
import { PHASE_RULES } from '../core/phases.js';
import { sleep } from '../core/sleep.js';
import {
  acceptDeadLetters,
  checkKeyMappings,
  refusedResult,
  retryDeadLetters,
  runBackfill,
  unstartedResult,
  type BackfillControl,
  type BackfillOptions,
  type BackfillResult,
  type KeyMappings,
} from '../backfill/backfill.js';
import { phaseRefusal } from '../backfill/guards.js';
import { withProgressRecord } from '../backfill/progress-record.js';
import { runBackfillRange, type RangeJobResult } from '../backfill/queued.js';
import { repairKeys } from '../verify/repair.js';
import { runVerify } from '../verify/verify.js';
import { runVerifyRange, type VerifyRangeResult } from '../verify/queued.js';
import type { RepairReport, VerifyOptions, VerifyReport } from '../verify/verify-options.js';
import { CHECKPOINTS, DIFFERING_KEYS_KEPT, saveCheckpoint } from '../control/checkpoints.js';
import { raiseFences } from './fencing.js';
import type { VerificationSummary } from './gates.js';
import type { Settings } from './options.js';
import type { Repairer } from './repairer.js';
import type { WriteTicket } from './repository-ports.js';
import { verifiedPayload } from '../hooks/payloads.js';
import type { Notify } from '../hooks/webhook-types.js';

export interface JobDeps<K extends Key, E extends object> {
  readonly settings: Settings<K, E>;
  readonly control: ControlStore;
  readonly actor: string;
  readonly repairer: Repairer<K, E>;
  /** Resolves once every live instance serves the current phase. */
  readonly awaitFleet: () => Promise<void>;
  /** The phase to serve with (refreshed when stale). */
  readonly current: () => PhaseState | Promise<PhaseState>;
  readonly beginWrite: () => Promise<WriteTicket>;
  /** Announces a verification this process ran (its webhook). */
  readonly notify: Notify;
}

export type RepairOptions<E> = Pick<
  VerifyOptions<E>,
  'ignoreFields' | 'transform' | 'signal' | 'maxKeys' | 'rechecks' | 'recheckDelayMs'
>;

/**
 * The jobs a migration runs beside the serving path — backfill, sweep,
 * dead-letter retry and accept, key checks, verification, repair, drain —
 * each behind its phase guard, fenced at the phase version it runs under.
 */
export class Jobs<K extends Key, E extends object> {
  readonly #d: JobDeps<K, E>;
  readonly #name: string;

  constructor(deps: JobDeps<K, E>) {
    this.#d = deps;
    this.#name = deps.settings.name;
  }

  async backfill(options: BackfillOptions<E> = {}): Promise<BackfillResult> {
    const { control, settings: o } = this.#d;
    // Where new is authoritative a backfill's prune would delete acknowledged writes: refused (a sweep runs instead).
    const refusal = await phaseRefusal(control, this.#name, options.missingOnly ? 'sweep' : 'backfill');
    if (refusal) return refusedResult(refusal);
    // Live instances all write both stores by now; one that stalled in an earlier phase (old-only: old alone), or a
    // sync that read old before an old-only period, is fenced out in both stores, so nothing lands behind the copy.
    await this.#d.awaitFleet();
    const state = await control.getState(this.#name);
    const run = { control, migration: this.#name, phaseVersion: state?.version ?? 0 };
    if (!state) return withProgressRecord(run, options, (opts) => runBackfill(this.#name, o.old, o.new, control, opts));
    try {
      await raiseFences(
        { old: o.old, new: o.new },
        this.#name,
        state.version,
        { old: true, new: true },
        o.timeoutMs,
        () => undefined,
      );
    } catch (error) {
      // Like a failure in any chunk: a result that says why, and a run that can start again.
      return unstartedResult(options.signal?.aborted ? 'aborted' : 'failed', error);
    }
    const fence = { migration: this.#name, epoch: state.version };
    return withProgressRecord(run, options, (opts) =>
      runBackfill(this.#name, o.old, o.new, control, { ...opts, fence }),
    );
  }

  /**
   * Works one range of a queued backfill or sweep (a worker's job): the
   * range's lease claimed and its fence raised in new, then copied from its
   * progress under the phase fence of the phase it started in.
   */
  async backfillRange(
    job: { readonly name: string; readonly rangeId: number },
    options: BackfillOptions<E> = {},
  ): Promise<RangeJobResult> {
    const { control, settings: o } = this.#d;
    const state = await control.getState(this.#name);
    const fence = state ? { fence: { migration: this.#name, epoch: state.version } } : {};
    return runBackfillRange(this.#name, o.old, o.new, control, { ...options, ...fence, name: job.name }, job.rangeId);
  }

  async sweep(options: Omit<BackfillOptions<E>, 'missingOnly' | 'tombstonesWin'> = {}): Promise<BackfillResult> {
    const state = await this.#d.control.getState(this.#name);
    const newRules = state !== undefined && PHASE_RULES[state.phase].authoritative === 'new';
    return this.backfill({ ...options, missingOnly: true, tombstonesWin: newRules });
  }

  async controlBackfill(settings: BackfillControl, name = 'backfill'): Promise<void> {
    await saveCheckpoint(this.#d.control, this.#name, CHECKPOINTS.backfillControl(name), settings);
  }

  async retryDeadLetters(
    options: Pick<BackfillOptions<E>, 'transform' | 'signal' | 'keyMappings'> = {},
  ): Promise<{ retried: number; copied: number; stillFailing: number }> {
    const { control, settings: o } = this.#d;
    const refusal = await phaseRefusal(control, this.#name, 'sweep');
    if (refusal) throw refusal;
    if (options.keyMappings) await checkKeyMappings(options.keyMappings, o.old, { signal: options.signal });
    const state = await control.getState(this.#name);
    return retryDeadLetters(this.#name, o.old, o.new, control, {
      ...options,
      ...(state ? { fence: { migration: this.#name, epoch: state.version } } : {}),
    });
  }

  async acceptDeadLetters(options: {
    readonly reason: string;
    readonly force: boolean;
    readonly actor?: string;
    readonly keyIds?: readonly string[];
  }): Promise<number> {
    return acceptDeadLetters(this.#name, this.#d.control, { ...options, actor: options.actor ?? this.#d.actor });
  }

  async checkKeys(mappings: KeyMappings, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    await checkKeyMappings(mappings, this.#d.settings.old, options);
  }

  async verify(options: VerifyOptions<E> = {}): Promise<VerifyReport> {
    const o = this.#d.settings;
    const merged: VerifyOptions<E> = { ...options, ignoreFields: options.ignoreFields ?? o.shadow?.ignoreFields };
    const { report, differing } = await runVerify(this.#name, o.old, o.new, this.#d.control, merged);
    let final = report;
    if (options.repair && report.status === 'different' && differing.length > 0) {
      try {
        const repair = await this.repair(differing, merged);
        const clean = repair.stillDifferent.total === 0 && report.untracked === 0;
        final = { ...report, status: clean ? 'equal' : 'different', repair };
      } catch (error) {
        // The differences were found but not all repaired: the run failed, and says why (regression: a failing store threw out of verify).
        final = { ...report, status: 'failed', error: errorSummary(error) };
      }
    }
    if (final.status === 'equal' || final.status === 'different') await this.#saveVerification(final);
    this.#d.notify('verified', verifiedPayload(final));
    return final;
  }

  /**
   * Works one range of a queued verification (a worker's job): the range's
   * lease claimed, then compared segment by segment from its last holder's
   * checkpoint. Writes nothing to either store.
   */
  async verifyRange(
    job: { readonly name: string; readonly rangeId: number },
    options: VerifyOptions<E> = {},
  ): Promise<VerifyRangeResult> {
    const o = this.#d.settings;
    const merged = { ...options, ignoreFields: options.ignoreFields ?? o.shadow?.ignoreFields, name: job.name };
    return runVerifyRange(this.#name, o.old, o.new, this.#d.control, merged, job.rangeId);
  }

  /** Keeps the outcome (counts only) where the gates and `status` read it. */
  async #saveVerification(report: VerifyReport): Promise<void> {
    const state = await this.#d.control.getState(this.#name);
    const remaining = report.repair ? report.repair.stillDifferent.total : undefined;
    const first = <T>(list: readonly T[]): T[] => list.slice(0, DIFFERING_KEYS_KEPT);
    const summary: VerificationSummary = {
      at: new Date().toISOString(),
      mode: report.mode,
      status: report.status,
      phase: state?.phase ?? 'old-only',
      matched: report.matched,
      missing: remaining === undefined ? report.missing.total : 0,
      extra: remaining === undefined ? report.extra.total : 0,
      different: remaining ?? report.different.total,
      keys: report.repair
        ? {
            missing: [],
            extra: [],
            different: first(report.repair.stillDifferent.keys).map((keyId) => ({ keyId, fields: [] })),
          }
        : {
            missing: first(report.missing.keys),
            extra: first(report.extra.keys),
            different: first(report.different.keys).map((k) => ({ keyId: k.keyId, fields: [...k.fields] })),
          },
    };
    await saveCheckpoint(this.#d.control, this.#name, CHECKPOINTS.lastVerification, summary);
  }

  /** Runs as one of this instance's writes, so a phase change waits for it. */
  async repair(keyIds: readonly string[], options: RepairOptions<E> = {}): Promise<RepairReport> {
    const o = this.#d.settings;
    const ticket = await this.#d.beginWrite();
    try {
      return await repairKeys(
        ticket.state,
        keyIds,
        { old: o.old, new: o.new },
        { ...options, fence: { migration: this.#name, epoch: ticket.state.version } },
      );
    } finally {
      ticket.end();
    }
  }

  async drainRepairs(state?: PhaseState, deadline = Date.now() + this.#d.settings.ackTimeoutMs): Promise<number> {
    const s = state ?? (await this.#d.current());
    const { done, failing } = await this.#d.repairer.drain(s, {
      deadline,
      now: () => Date.now(),
      wait: async () => sleep(50),
    });
    if (failing > 0)
      throw new MidairError(
        'TIMEOUT',
        `migration ${this.#name}: ${failing} repair(s) kept failing until the deadline (midair repairs list shows them)`,
      );
    return done;
  }
}
