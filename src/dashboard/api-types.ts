// The dashboard's API as types, shared by its server and its page (docs/decisions/0024). Types only, and the
// phases (src/core/phases.ts, which imports nothing): the page's bundle takes nothing else of the server.
import type { Phase } from '../core/phases.js';

/** Every route is under this prefix; a change that breaks the page's reading of a route gets a new version. */
export const API_BASE = '/api/v1';

/** How the page sends the token: `Authorization: Bearer <token>` (a header, never a cookie). */
export const AUTH_HEADER = 'Authorization';

/** An error as every route answers it. `confirm`: the question to ask before sending the request again with `yes`. */
export interface ApiError {
  readonly error: { readonly code: string; readonly message: string; readonly confirm?: string };
}

/** What the server serves: its migrations, whether it takes controls, and whether reads need the token too. */
export interface DashboardInfo {
  readonly migrations: readonly { readonly name: string; readonly phase: Phase | null }[];
  /** False when the dashboard only watches (the demo's: its script moves the migration). */
  readonly controls: boolean;
  /** Off loopback, every route needs the token, reads included. */
  readonly readsNeedToken: boolean;
  /** Row values are shown only when the operator enabled value capture; keys and counts otherwise. */
  readonly valueCapture: boolean;
  /** How often the server samples each migration, ms. */
  readonly sampleMs: number;
}

export interface Reachability {
  readonly reachable: boolean;
  readonly errors?: number;
  readonly warnings?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface GateView {
  readonly gate: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface InstanceView {
  readonly instanceId: string;
  readonly host: string;
  readonly phaseVersion: number;
  readonly acknowledged: boolean;
  readonly lastSeenMsAgo: number;
  readonly description: string;
}

export interface AuditView {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly from: string | null;
  readonly to: string;
  readonly version: number;
  readonly reason: string;
  readonly forced: boolean;
}

export interface BackfillView {
  /** The run the gates look at (`backfill`, or the named run that completed). */
  readonly run: string;
  readonly started: boolean;
  readonly complete: boolean;
  readonly ranges: number;
  readonly rangesComplete: number;
  /** Rows the copy has read, over every run that resumed it; `null` before it started. */
  readonly rowsDone: number | null;
  /** Old's rows as last counted (carried forward at the rate the count grew), `null` until counted. */
  readonly total: number | null;
  /** Rows/s as this dashboard saw the copy go (`null` until it saw it move). */
  readonly rowsPerSecond: number | null;
  /** Time left, ms (`null`: unknown — no rate yet, or the source grows as fast as the copy). */
  readonly etaMs: number | null;
  /** The operator's settings for the run (`midair backfill pause|resume|rate`). */
  readonly paused: boolean;
  readonly maxRowsPerSecond: number | null;
}

export interface VerificationView {
  readonly at: string;
  readonly mode: string;
  readonly status: string;
  readonly phase: Phase;
  readonly matched: number;
  readonly missing: number;
  readonly extra: number;
  readonly different: number;
  /** The first differing keys of each kind (key ids and field names; absent for verifications of older versions). */
  readonly keys?: {
    readonly missing: readonly string[];
    readonly extra: readonly string[];
    readonly different: readonly { readonly keyId: string; readonly fields: readonly string[] }[];
  };
}

/** A shadow mismatch heard from an instance in this process: its key and the fields that differed. */
export interface MismatchView {
  readonly at: string;
  readonly keyId: string;
  readonly fields: readonly string[];
  readonly phase: Phase;
  /** Only with value capture enabled (and the instance comparing with `shadow.includeValues`). */
  readonly values?: { readonly old: unknown; readonly new: unknown };
}

/** One store's calls over the fleet in this phase version, with the share that failed. */
export interface SideView {
  readonly calls: number;
  readonly errors: number;
  readonly p99Ms: number;
  readonly errorRate: number;
}

export interface ParkedView {
  readonly keyId: string;
  readonly direction: string;
  readonly code: string;
  readonly store: string;
  readonly constraint?: string;
}

/** What the controls may do now, as the CLI's rules say (a control the rules refuse is not offered). */
export interface ControlsView {
  /** `phase advance`: where to, the confirmation it asks (new-primary, complete), whether it takes a ramp percentage. */
  readonly advance: { readonly to: Phase; readonly confirm: string | null; readonly takesRamp: boolean } | null;
  /** `phase rollback`: where to, and whether old is re-synced from new on the way. */
  readonly rollback: { readonly to: Phase; readonly resyncs: boolean } | null;
  /** `phase set --ramp`: within ramp only. */
  readonly ramp: boolean;
  /** `strict on|off`: once the migration started. */
  readonly strict: boolean;
  /** `backfill pause|resume|rate`: once the migration started. */
  readonly backfill: boolean;
}

/** Everything the page shows of one migration, as last sampled. */
export interface MigrationView {
  readonly migration: string;
  /** When it was read (ISO). */
  readonly at: string;
  readonly started: boolean;
  readonly stores: { readonly old: Reachability; readonly new: Reachability };
  readonly phase: Phase;
  readonly version: number;
  readonly rampPercent: number;
  readonly strict: boolean;
  readonly writesPaused: boolean;
  readonly authoritative: 'old' | 'new';
  readonly next: Phase | null;
  /** The gates into `next`, each with what it measured or what blocks it. */
  readonly gates: readonly GateView[];
  readonly warnings: readonly string[];
  readonly instances: readonly InstanceView[];
  readonly backfill: BackfillView;
  readonly verification: VerificationView | null;
  readonly shadow: {
    readonly comparisons: number;
    readonly mismatches: number;
    readonly rate: number;
    /** The gate's limits. */
    readonly maxRate: number;
    readonly minComparisons: number;
    /** The newest mismatches heard in this process; `null` when no instance runs here (the counts come from the fleet). */
    readonly recent: readonly MismatchView[] | null;
  };
  readonly repairs: {
    readonly pending: number;
    readonly parked: number;
    readonly parkedSample: readonly ParkedView[];
    readonly deadLetters: number;
  };
  /** The fleet's calls on each store in this phase version; `null` until instances report figures. */
  readonly capacity: { readonly old: SideView; readonly new: SideView } | null;
  /** The newest audit entries, newest first. */
  readonly audit: readonly AuditView[];
  readonly factsResetAt: string | null;
  readonly controls: ControlsView;
  /** Why the last read failed (the view holds the read before it), or `null`. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** One point of the charts: what the sampler read at `at`. */
export interface Sample {
  /** ms since the epoch. */
  readonly at: number;
  /** The phase, with its percentage in ramp (`ramp 50 %`). */
  readonly phase: string;
  readonly version: number;
  readonly comparisons: number;
  readonly mismatches: number;
  /** mismatches ÷ comparisons in this phase (0 with none). */
  readonly mismatchRate: number;
  readonly backfillRowsPerSecond: number | null;
  readonly repairQueue: number;
  readonly parked: number;
  readonly old: SideView | null;
  readonly new: SideView | null;
}

/**
 * The live feed (server-sent events) of one migration: a `snapshot` on
 * connecting, then a `sample` every time the server samples, `phase`,
 * `audit` and `gates` whenever those change, and `failure` when a read fails.
 */
export interface FeedEvents {
  readonly snapshot: { readonly view: MigrationView; readonly samples: readonly Sample[] };
  readonly sample: { readonly view: MigrationView; readonly sample: Sample };
  readonly phase: {
    readonly from: { readonly phase: Phase; readonly version: number } | null;
    readonly to: { readonly phase: Phase; readonly version: number; readonly rampPercent: number };
  };
  /** The entries added since the last sample, newest first. */
  readonly audit: { readonly entries: readonly AuditView[] };
  readonly gates: { readonly next: Phase | null; readonly gates: readonly GateView[] };
  /** A read failed (the control store did not answer): the error, and the last view read, which the page keeps showing. */
  readonly failure: {
    readonly error: { readonly code: string; readonly message: string };
    readonly view: MigrationView | null;
  };
}
export type FeedEventName = keyof FeedEvents;

/** The bodies the controls send (POST, JSON). */
export interface AdvanceRequest {
  readonly reason?: string;
  readonly force?: boolean;
  /** The page asked the confirmation the step needs. */
  readonly yes?: boolean;
  readonly ramp?: number;
}
export interface RollbackRequest {
  readonly reason?: string;
  readonly force?: boolean;
}
export interface RampRequest {
  readonly percent: number;
  readonly reason?: string;
}
export interface StrictRequest {
  readonly on: boolean;
  readonly reason: string;
}
export interface BackfillRequest {
  readonly action: 'pause' | 'resume' | 'rate';
  /** With `rate`. */
  readonly rowsPerSecond?: number;
}

/** What a control answers: what it did in words (as the CLI prints it), its result, and the view after it. */
export interface ControlResult {
  readonly message: string;
  readonly result: unknown;
  readonly view: MigrationView;
}
