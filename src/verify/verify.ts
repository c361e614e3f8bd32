import type { ControlStore } from '../control/control-store.js';
import { MidairError } from '../core/errors.js';
import { keyId, type Key } from '../core/keys.js';
import type { Store } from '../core/store.js';
import { chunked } from '../core/collections.js';
import { RunMeter } from '../jobs/run-progress.js';
import { addCandidate, classify, newFindings, type Candidate, type Findings } from './findings.js';
import { settle } from './recheck.js';
import {
  closeRun,
  coveredBefore,
  fullPass,
  mergeRanges,
  openRun,
  reportProgress,
  walkRanges,
  type Sides,
} from './full-pass.js';
import { followQueuedVerify } from './queued.js';
import { verifySide, type VerifySide } from './sides.js';
import { fullSides, ignoredFields } from './pass-sides.js';
import { buildReport, matchedOf, wilsonUpper } from './report-build.js';
import type { VerifyOptions, VerifyReport } from './verify-options.js';

/** What a run found, with every tracked differing key (for repair) beside the capped report. */
export interface VerifyOutcome {
  readonly report: VerifyReport;
  readonly differing: readonly string[];
}

/**
 * Verifies that `target` holds what `source` holds, entity by entity (see
 * {@link VerifyOptions} for the modes). Never throws halfway: failures come
 * back as a report with `status: 'failed'`.
 */
export async function runVerify<K extends Key, E extends object>(
  migration: string,
  source: Store<K, E>,
  target: Store<K, E>,
  control: ControlStore,
  options: VerifyOptions<E> = {},
): Promise<VerifyOutcome> {
  const started = Date.now();
  const mode = options.mode ?? 'full';
  const ignore = ignoredFields(source, target, options);
  let old = verifySide('old', source, { ignore, pushdown: options.pushdown ?? true, transform: options.transform });
  let newSide = verifySide('new', target, { ignore, pushdown: options.pushdown ?? true });
  const findings = newFindings();
  const counts = { old: 0, new: 0 };
  let resumed = false;
  let sample: VerifyReport['sample'];
  const finish = (
    status: VerifyReport['status'],
    real: Map<string, Candidate>,
    changed: readonly string[],
    error?: unknown,
  ): VerifyOutcome => ({
    report: buildReport(mode, status, { old, new: newSide }, counts, findings, real, changed, {
      resumed,
      sample,
      durationMs: Date.now() - started,
      maxKeys: options.maxKeys ?? 100,
      error,
    }),
    differing: [...real.keys()],
  });
  try {
    if (options.queue && mode !== 'full')
      throw new MidairError(
        'INVALID_ARGUMENT',
        `verify: a queue spreads a full pass over workers; mode '${mode}' runs in this process — drop the queue or use mode 'full'`,
      );
    [counts.old, counts.new] = await Promise.all([
      source.count({ signal: options.signal }),
      target.count({ signal: options.signal }),
    ]);
    if (mode === 'count') return finish(counts.old === counts.new ? 'equal' : 'different', new Map(), []);
    if (mode === 'sample') {
      const n = options.sampleSize ?? 1000;
      if (!Number.isSafeInteger(n) || n < 1)
        throw new MidairError('INVALID_ARGUMENT', 'verify: sampleSize must be a positive integer');
      sample = await compareSample({ old, new: newSide }, n, ignore, findings, options);
    } else {
      ({ old, new: newSide } = await fullSides(source, target, ignore, options));
      const outcome = await walkFull(migration, { old, new: newSide }, control, ignore, findings, counts.old, options);
      resumed = outcome.resumed;
      if (outcome.status !== 'complete')
        return finish(outcome.status === 'aborted' ? 'aborted' : 'failed', findings.candidates, [], outcome.error);
    }
    const settled = await settle({ old, new: newSide }, findings, {
      ranged: mode === 'full',
      ignore,
      rechecks: options.rechecks ?? 2,
      delayMs: options.recheckDelayMs ?? 1000,
      minAgeMs: options.minAgeMs,
      signal: options.signal,
    });
    if (mode === 'full') findings.matched = matchedOf(findings, settled.equalNow);
    if (sample) {
      const differing = settled.real.size;
      sample = {
        keys: sample.keys,
        differingRate: sample.keys === 0 ? 0 : differing / sample.keys,
        upper95: wilsonUpper(differing, sample.keys),
      };
    }
    if (options.signal?.aborted) return finish('aborted', settled.real, settled.changed);
    const different = settled.real.size + findings.untracked > 0;
    return finish(different ? 'different' : 'equal', settled.real, settled.changed);
  } catch (error) {
    return finish(options.signal?.aborted ? 'aborted' : 'failed', findings.candidates, [], error);
  }
}

/** `n` random keys from each side, compared entity by entity. */
async function compareSample<K extends Key, E extends object>(
  sides: { readonly old: VerifySide<K, E>; readonly new: VerifySide<K, E> },
  n: number,
  ignore: ReadonlySet<string>,
  findings: Findings,
  options: VerifyOptions<E>,
): Promise<{ keys: number; differingRate: number; upper95: number }> {
  const signal = options.signal;
  const [a, b] = await Promise.all([
    sides.old.store.sampleKeys(n, { signal }),
    sides.new.store.sampleKeys(n, { signal }),
  ]);
  const keys = [...new Map([...a, ...b].map((k) => [keyId(k), k])).values()];
  for (const batch of chunked(keys, 500)) {
    const [olds, news] = await Promise.all([
      sides.old.getMany(batch, { signal }),
      sides.new.getMany(batch, { signal }),
    ]);
    batch.forEach((k, i) => {
      const c = classify(olds[i], news[i], ignore);
      if (c) addCandidate(findings, keyId(k), c, options.trackLimit ?? 100_000);
      else findings.matched++;
    });
  }
  return { keys: keys.length, differingRate: 0, upper95: 0 };
}

/**
 * The full pass: the key space as leased ranges walked by this process's
 * workers (with a queue, by `midair worker` processes, this one following),
 * then every range's findings merged.
 */
async function walkFull<K extends Key, E extends object>(
  migration: string,
  sides: Sides<K, E>,
  control: ControlStore,
  ignore: ReadonlySet<string>,
  into: Findings,
  total: number,
  options: VerifyOptions<E>,
): Promise<{ status: 'complete' | 'stopped' | 'aborted'; error?: unknown; resumed: boolean }> {
  const { runId, resumed } = await openRun(control, migration, options);
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const pass = await fullPass({ migration, control, sides, ignore, options, runId, total, workers });
  if (resumed && !options.queue) pass.meter = new RunMeter(total, await coveredBefore(pass));
  const outcome = options.queue ? await followQueuedVerify(pass, options.queue) : await walkRanges(pass, workers);
  if (outcome.status !== 'complete') return { ...outcome, resumed };
  await mergeRanges(pass, into);
  if (!options.queue) reportProgress(pass, true);
  await closeRun(pass);
  return { status: 'complete', resumed };
}
