// What one demo run shares between its steps, and what it records for the verdict and the report.
import type { ControlStore, PhaseState } from '../control/control-store.js';
import type { GateThresholds } from '../migration/gates.js';
import type { Migration } from '../migration/migration.js';
import type { Store } from '../core/store.js';
import type { DemoJobSpan, DemoMark, DemoOptions } from './demo-types.js';
import type { FaultSwitch } from './faults.js';
import type { DemoJobs } from './jobs-client.js';
import type { DemoUser } from './users.js';

/** Settings, stores and recorders shared by every step of one demo run. */
export interface DemoSetup {
  readonly options: DemoOptions;
  readonly rows: number;
  readonly dwell: number;
  readonly began: number;
  readonly note: (event: string) => void;
  readonly faults: FaultSwitch;
  readonly thresholds: GateThresholds;
  readonly operatorOld: Store<bigint, DemoUser>;
  readonly operatorNew: Store<bigint, DemoUser>;
  readonly control: ControlStore;
  /** Backfill, verification and sweep, off the serving thread. */
  readonly jobs: DemoJobs;
  readonly record: Recorder;
}

/** A demo run: its setup, the operator's migration, the application fleet and how often it halted. */
export interface DemoRun extends DemoSetup {
  readonly operator: Migration<bigint, DemoUser>;
  readonly fleet: Migration<bigint, DemoUser>[];
  halts: number;
}

/** The phase as the demo names it: ramp with its percentage. */
export const phaseLabel = (s: Pick<PhaseState, 'phase' | 'rampPercent'>): string =>
  s.phase === 'ramp' ? `ramp ${s.rampPercent} %` : s.phase;

/** The fleet-wide phase changes, the marks and the job spans of one run, in ms since it began. */
export class Recorder {
  readonly changes: { atMs: number; phase: string }[] = [];
  readonly marks: DemoMark[] = [];
  readonly jobs: Omit<DemoJobSpan, 'minOpsPerSecond'>[] = [];
  readonly #began: number;

  constructor(began: number) {
    this.#began = began;
  }

  now(): number {
    return Math.round(performance.now() - this.#began);
  }

  phase(phase: string): void {
    this.changes.push({ atMs: this.now(), phase });
  }

  mark(kind: DemoMark['kind'], label: string): void {
    this.marks.push({ atMs: this.now(), kind, label });
  }

  /** Runs a job and keeps when it ran. */
  async job<T>(job: DemoJobSpan['job'], run: () => Promise<T>): Promise<T> {
    const fromMs = this.now();
    try {
      return await run();
    } finally {
      this.jobs.push({ job, fromMs, toMs: this.now() });
    }
  }
}
