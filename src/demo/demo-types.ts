// What the demo takes and what it returns: shared by the demo run and its HTML report.
import type { VerifyReport } from '../verify/verify-options.js';
import type { ThroughputVerdict } from './throughput.js';

export interface DemoOptions {
  /** Users seeded into old. Default 10 000. */
  readonly rows?: number;
  /** Simulated application instances. Default 3. */
  readonly instances?: number;
  /** Clients per instance. Default 2. */
  readonly clients?: number;
  /** How long the demo dwells in each phase, seconds. Default 3. */
  readonly phaseSeconds?: number;
  /** Folder for the SQLite files; default a fresh temporary one, removed afterwards. */
  readonly dir?: string;
  /** Where to write the HTML report; `false` writes none. Default `midair-demo-report.html` in the working folder. */
  readonly report?: string | false;
  readonly log?: (line: string) => void;
  readonly progressBar?: boolean;
  readonly seed?: number;
}

export interface PhaseFigures {
  readonly phase: string;
  readonly ops: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A moment the report marks on every chart. */
export interface DemoMark {
  readonly atMs: number;
  readonly kind: 'fault-burst-start' | 'fault-burst-end' | 'auto-halt' | 'cutover';
  readonly label: string;
}

/** One of the operator's long jobs, run on the demo's job thread, and the slowest second served meanwhile. */
export interface DemoJobSpan {
  readonly job: 'backfill' | 'verification' | 'repair drain' | 'final verification' | 'sweep';
  readonly fromMs: number;
  readonly toMs: number;
  readonly minOpsPerSecond: number;
}

export interface DemoResult {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly rows: number;
  readonly instances: number;
  readonly timeline: readonly { readonly atMs: number; readonly event: string }[];
  readonly phases: readonly PhaseFigures[];
  readonly ops: number;
  readonly clientErrors: number;
  readonly staleReads: number;
  readonly lostWrites: number;
  readonly halts: number;
  readonly faultsInjected: number;
  readonly verification: VerifyReport;
  /** Served throughput per phase against the old-only baseline: part of the verdict. */
  readonly throughput: ThroughputVerdict;
  readonly jobs: readonly DemoJobSpan[];
  readonly marks: readonly DemoMark[];
  readonly reportPath: string | undefined;
}
