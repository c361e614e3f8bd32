// What the demo takes and what it returns: shared by the demo run and its HTML report.
import type { ControlStore } from '../control/control-store.js';
import type { Store } from '../core/store.js';
import type { SqlMapping } from '../mapping/mapping.js';
import type { GateThresholds } from '../migration/gates.js';
import type { Migration } from '../migration/migration.js';
import type { VerifyReport } from '../verify/verify-options.js';
import type { ThroughputVerdict } from './throughput.js';
import type { DemoUser } from './users.js';

/** The demo's migration while it runs, for something in this process that watches it (`midair demo --dashboard`). */
export interface DemoLive {
  readonly name: string;
  /** The folder of its SQLite files. */
  readonly dir: string;
  readonly old: Store<bigint, DemoUser>;
  readonly new: Store<bigint, DemoUser>;
  readonly control: ControlStore;
  readonly mappings: { readonly old: SqlMapping<DemoUser>; readonly new: SqlMapping<DemoUser> };
  readonly thresholds: GateThresholds;
  /** The application instances (a watcher hears their shadow mismatches). */
  readonly fleet: readonly Migration<bigint, DemoUser>[];
}

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
  /**
   * Called once the instances serve, before the first phase change: starts
   * a watcher (the dashboard) and resolves how to stop it, which the demo
   * does before it closes the stores. A watcher that fails to start fails the demo.
   */
  readonly attach?: (live: DemoLive) => Promise<() => Promise<void>>;
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
