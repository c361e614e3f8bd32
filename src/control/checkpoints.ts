import { z } from 'zod';
import { MidairError } from '../core/errors.js';
import { PHASES, type Phase } from '../core/phases.js';
import type { CheckpointStore } from './checkpoint-store.js';

/**
 * Every checkpoint midair keeps, by name, with the shape of its value and a
 * decoder for it. The control store holds checkpoints as text; code reads
 * and writes them only through {@link loadCheckpoint}, {@link saveCheckpoint}
 * and {@link deleteCheckpoint} with one of the {@link CHECKPOINTS}, so a name
 * is spelt in one place and a stored value that is not what its name says
 * fails with a message naming the checkpoint, never as a wrong value further on.
 *
 * @example
 * ```ts
 * const run = await loadCheckpoint(control, 'users-to-pg', CHECKPOINTS.backfillRun('nightly'));
 * if (run?.complete) console.log('done under phase version', run.phaseVersion);
 * ```
 */
export interface Checkpoint<T> {
  readonly name: string;
  /** What it holds, in words, for messages. */
  readonly kind: string;
  readonly decoder: z.ZodType<T>;
}

/** The names jobs run under when not given one. */
export const DEFAULT_RUN_NAMES = Object.freeze({ backfill: 'backfill', sweep: 'sweep', verify: 'verify' });

/**
 * Where a backfill or sweep run stands: the copy pass walks old's keys; the
 * prune pass then walks new's keys and deletes those old no longer has.
 */
export interface BackfillRunState {
  readonly pass?: 'copy' | 'prune' | undefined;
  /** The last key (as `keyId()` spells it) done in `pass`. */
  readonly after?: string | undefined;
  readonly complete: boolean;
  /** The phase-state version the run began or completed under (a completion from before a rollback to old-only no longer counts). */
  readonly phaseVersion?: number | undefined;
  /** Written by a reset of the facts for new: the run starts again from the first key. */
  readonly reset?: boolean | undefined;
  /** When it completed (ISO): only in checkpoints of older versions, which had no phase version. */
  readonly at?: string | undefined;
  /** Rows the copy pass has read so far, over every run that resumed it (a resumed run's progress starts there). */
  readonly rowsDone?: number | undefined;
  /**
   * What the copy pass saw of keys new holds and old lacks (src/backfill/orphan-watch.ts):
   * where the prune pass may start. Absent in checkpoints of older versions: the prune walks all of new.
   */
  readonly orphans?: { readonly checked: boolean; readonly from?: string | undefined } | undefined;
}

/**
 * A backfill or sweep run's copy progress as it last reported it, for the
 * operator's view (metrics, the dashboard): the meter's figures, saved about
 * once a second while the run copies and once more when it ends. Never read
 * by a run (its own checkpoint is where it resumes from).
 */
export interface BackfillProgressRecord {
  readonly rowsDone: number;
  /** The meter's estimate of the rows to copy (equal to `rowsDone` once the copy reached the end). */
  readonly total: number;
  readonly rowsPerSecond: number;
  readonly etaMs?: number | undefined;
  /** False once the run ended (its `status` says how); true while it runs — or since its process died. */
  readonly active: boolean;
  /** How the run ended (a backfill result's status). */
  readonly status?: string | undefined;
  /** When it was saved (ISO). */
  readonly at: string;
  /** The phase-state version when the run started: a record from before the last rollback to old-only no longer counts. */
  readonly phaseVersion: number;
}

/** Settings an operator can change while a backfill runs (through the control store). */
export interface BackfillControl {
  readonly paused?: boolean | undefined;
  readonly maxRowsPerSecond?: number | undefined;
}

/** A backfill run as the control store records it for the gates. */
export interface BackfillFact {
  readonly name: string;
  readonly complete: boolean;
  /** When it was recorded (ISO). */
  readonly at: string;
  /** The phase-state version it was recorded under. */
  readonly phaseVersion: number;
}

/** Every backfill run by name (sweeps are not recorded). */
export type BackfillRuns = Readonly<Record<string, BackfillFact>>;

/** A verification's outcome as the control store keeps it: counts, and the first few differing keys (key ids and field names, never values). */
export interface VerificationSummary {
  readonly at: string;
  readonly mode: string;
  readonly status: string;
  /** The phase it ran in. */
  readonly phase: Phase;
  readonly matched: number;
  readonly missing: number;
  readonly extra: number;
  readonly different: number;
  /**
   * The first {@link DIFFERING_KEYS_KEPT} keys of each kind that still
   * differ (after its repair, if it repaired: those are `different`, with
   * no fields). Absent in summaries of older versions.
   */
  readonly keys?:
    | {
        readonly missing: readonly string[];
        readonly extra: readonly string[];
        readonly different: readonly { readonly keyId: string; readonly fields: readonly string[] }[];
      }
    | undefined;
}

/** How many differing keys of each kind a verification's summary keeps. */
export const DIFFERING_KEYS_KEPT = 20;

/** A full verification run: its id, which every range checkpoint of the run carries, and whether it completed. */
export interface VerifyRunState {
  readonly runId: string;
  readonly complete: boolean;
}

/** How a key differed, as a range's findings keep it. */
export interface SavedCandidate {
  readonly kind: 'missing' | 'extra' | 'different';
  readonly fields?: readonly string[] | undefined;
}

/** A range's findings in JSON form: key ids and field names only. */
export interface SavedFindings {
  readonly rows: number;
  readonly matched: number;
  readonly young: readonly (readonly [string, boolean])[];
  readonly segments: { readonly hashed: number; readonly differing: number; readonly rowCompared: number };
  readonly candidates: readonly (readonly [string, SavedCandidate])[];
  readonly crossed: readonly string[];
  readonly untracked: number;
}

/** One leased range of a full verification: its progress and what it found so far. */
export interface VerifyRangeState {
  readonly runId: string;
  readonly after?: string | undefined;
  /** The range's last segment is done (its findings are in): a resume only completes the lease. */
  readonly done?: boolean | undefined;
  readonly findings: SavedFindings;
}

/** One instance's shadow comparisons in one phase version (saved by the instance, summed by the gates over live instances). */
export interface ShadowCounters {
  readonly phaseVersion: number;
  readonly comparisons: number;
  readonly mismatches: number;
}

const count = z.number().int().nonnegative();
const version = z.number().int().nonnegative();

const backfillRunState: z.ZodType<BackfillRunState> = z.object({
  pass: z.enum(['copy', 'prune']).optional(),
  after: z.string().optional(),
  complete: z.boolean(),
  phaseVersion: version.optional(),
  reset: z.boolean().optional(),
  at: z.string().optional(),
  rowsDone: count.optional(),
  orphans: z.object({ checked: z.boolean(), from: z.string().optional() }).optional(),
});

const backfillProgressRecord: z.ZodType<BackfillProgressRecord> = z.object({
  rowsDone: count,
  total: count,
  rowsPerSecond: z.number().nonnegative(),
  etaMs: z.number().nonnegative().optional(),
  active: z.boolean(),
  status: z.string().optional(),
  at: z.string(),
  phaseVersion: version,
});

const backfillControl: z.ZodType<BackfillControl> = z.object({
  paused: z.boolean().optional(),
  maxRowsPerSecond: z.number().optional(),
});

const backfillFact: z.ZodType<BackfillFact> = z.object({
  name: z.string(),
  complete: z.boolean(),
  at: z.string(),
  phaseVersion: version,
});
const backfillRuns: z.ZodType<BackfillRuns> = z.record(z.string(), backfillFact);

const verificationSummary: z.ZodType<VerificationSummary> = z.object({
  at: z.string(),
  mode: z.string(),
  status: z.string(),
  phase: z.enum(PHASES),
  matched: count,
  missing: count,
  extra: count,
  different: count,
  keys: z
    .object({
      missing: z.array(z.string()),
      extra: z.array(z.string()),
      different: z.array(z.object({ keyId: z.string(), fields: z.array(z.string()) })),
    })
    .optional(),
});

const verifyRunState: z.ZodType<VerifyRunState> = z.object({ runId: z.string(), complete: z.boolean() });

const savedFindings: z.ZodType<SavedFindings> = z.object({
  rows: count,
  matched: count,
  young: z.array(z.tuple([z.string(), z.boolean()])),
  segments: z.object({ hashed: count, differing: count, rowCompared: count }),
  candidates: z.array(
    z.tuple([
      z.string(),
      z.object({ kind: z.enum(['missing', 'extra', 'different']), fields: z.array(z.string()).optional() }),
    ]),
  ),
  crossed: z.array(z.string()),
  untracked: count,
});

const verifyRangeState: z.ZodType<VerifyRangeState> = z.object({
  runId: z.string(),
  after: z.string().optional(),
  done: z.boolean().optional(),
  findings: savedFindings,
});

const shadowCounters: z.ZodType<ShadowCounters> = z.object({
  phaseVersion: version,
  comparisons: count,
  mismatches: count,
});

/**
 * Every checkpoint name. A job's own names derive from the name it runs
 * under (`nightly`, `nightly:control`, `verify:run`, `verify:range:3@1:<run id>`); the
 * facts the gates read have fixed names or one per instance.
 */
export const CHECKPOINTS = Object.freeze({
  /** A backfill or sweep run's progress, under the run's name (`backfill`, `sweep` or its own). */
  backfillRun: (run: string): Checkpoint<BackfillRunState> => ({
    name: run,
    kind: 'backfill run state',
    decoder: backfillRunState,
  }),
  /** The run's copy progress as it last reported it (the operator's view). */
  backfillProgress: (run: string): Checkpoint<BackfillProgressRecord> => ({
    name: `${run}:progress`,
    kind: 'backfill progress',
    decoder: backfillProgressRecord,
  }),
  /** Where operators pause, resume and retune a run. */
  backfillControl: (run: string): Checkpoint<BackfillControl> => ({
    name: `${run}:control`,
    kind: 'backfill control settings',
    decoder: backfillControl,
  }),
  /** Every backfill run by name: whether it completed, and under which phase version. */
  backfillRuns: Object.freeze<Checkpoint<BackfillRuns>>({
    name: 'backfill:runs',
    kind: 'backfill runs',
    decoder: backfillRuns,
  }),
  /** A full verification run under its name. */
  verifyRun: (job: string): Checkpoint<VerifyRunState> => ({
    name: `${job}:run`,
    kind: 'verification run',
    decoder: verifyRunState,
  }),
  /**
   * One leased range of that run, as the holder of the lease `token` left it:
   * each holder writes its own, so one that stalled and lost the range (or
   * worked a run since restarted) cannot overwrite what the next holder
   * found. Without a holder: the one checkpoint per range of older versions.
   */
  verifyRange: (
    job: string,
    rangeId: number,
    holder?: { readonly runId: string; readonly token: number },
  ): Checkpoint<VerifyRangeState> => ({
    name: holder === undefined ? `${job}:range:${rangeId}` : `${job}:range:${rangeId}@${holder.token}:${holder.runId}`,
    kind: 'verification range',
    decoder: verifyRangeState,
  }),
  /** The last verification's outcome for the gates; `null` once the facts for new were reset. */
  lastVerification: Object.freeze<Checkpoint<VerificationSummary | null>>({
    name: 'verify:last',
    kind: 'last verification result',
    decoder: verificationSummary.nullable(),
  }),
  /** One instance's shadow counters. */
  shadow: (instanceId: string): Checkpoint<ShadowCounters> => ({
    name: `shadow:${instanceId}`,
    kind: 'shadow counters',
    decoder: shadowCounters,
  }),
});

/**
 * The row a control store writes beside a job's leased ranges, so that of
 * two processes creating them one wins (its value: how many ranges). The
 * store's own: never read by a job, dropped with the ranges.
 */
export function rangesClaimName(job: string): string {
  return `${job}:ranges`;
}

/** Why a stored value is not what its checkpoint holds: the first few problems, by path (never the values). */
function problems(error: z.ZodError): string {
  const listed = error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length === 0 ? 'the value' : i.path.map(String).join('.')}: ${i.message}`);
  const more = error.issues.length > 3 ? `; and ${error.issues.length - 3} more` : '';
  return listed.join('; ') + more;
}

/** Decodes a checkpoint's stored text, or throws ENCODING naming the checkpoint and what is wrong. */
export function decodeCheckpoint<T>(migration: string, checkpoint: Checkpoint<T>, text: string): T {
  const fail = (what: string): MidairError =>
    new MidairError(
      'ENCODING',
      `checkpoint "${checkpoint.name}" of migration ${migration} does not hold ${checkpoint.kind}: ${what}`,
      {
        details: { operation: 'loadCheckpoint', field: checkpoint.name },
      },
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fail('it is not JSON');
  }
  const decoded = checkpoint.decoder.safeParse(value);
  if (!decoded.success) throw fail(problems(decoded.error));
  return decoded.data;
}

/** The checkpoint's value, or `undefined` when there is none; a value that does not decode throws ENCODING. */
export async function loadCheckpoint<T>(
  control: Pick<CheckpointStore, 'loadCheckpoint'>,
  migration: string,
  checkpoint: Checkpoint<T>,
): Promise<T | undefined> {
  const text = await control.loadCheckpoint(migration, checkpoint.name);
  return text === undefined ? undefined : decodeCheckpoint(migration, checkpoint, text);
}

/** Creates or overwrites the checkpoint with `value`. */
export async function saveCheckpoint<T>(
  control: Pick<CheckpointStore, 'saveCheckpoint'>,
  migration: string,
  checkpoint: Checkpoint<T>,
  value: T,
): Promise<void> {
  await control.saveCheckpoint(migration, checkpoint.name, JSON.stringify(value));
}

/** Removes the checkpoint (nothing happens when there is none). */
export async function deleteCheckpoint<T>(
  control: Pick<CheckpointStore, 'deleteCheckpoint'>,
  migration: string,
  checkpoint: Checkpoint<T>,
): Promise<void> {
  await control.deleteCheckpoint(migration, checkpoint.name);
}

/** Whether the checkpoint exists, whatever it holds (a reset overwrites even a value that does not decode). */
export async function checkpointExists<T>(
  control: Pick<CheckpointStore, 'loadCheckpoint'>,
  migration: string,
  checkpoint: Checkpoint<T>,
): Promise<boolean> {
  return (await control.loadCheckpoint(migration, checkpoint.name)) !== undefined;
}
