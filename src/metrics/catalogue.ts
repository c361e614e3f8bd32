/**
 * Every figure midair exports, as data: its Prometheus and OpenTelemetry
 * names, what it means, its kind and labels, and where it comes from —
 * `events`: this process's migration events, counted as they happen;
 * `control`: the control store, read when the figures are collected (the
 * same in every process that reads it: use `max by (migration)` across
 * instances). Both exporters are made from this list, so a name is spelt once.
 */
export interface FigureSpec {
  readonly prometheus: string;
  readonly otel: string;
  readonly help: string;
  readonly kind: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  /** The OpenTelemetry unit (UCUM). */
  readonly unit: string;
  readonly source: 'events' | 'control';
}

const m = 'migration';

const ev = (
  prometheus: string,
  otel: string,
  kind: FigureSpec['kind'],
  labels: readonly string[],
  unit: string,
  help: string,
): FigureSpec => ({ prometheus, otel, help, kind, labels: [m, ...labels], unit, source: 'events' });

const ctl = (
  prometheus: string,
  otel: string,
  kind: FigureSpec['kind'],
  labels: readonly string[],
  unit: string,
  help: string,
): FigureSpec => ({ prometheus, otel, help, kind, labels: [m, ...labels], unit, source: 'control' });

export const FIGURES = Object.freeze({
  storeCalls: ev(
    'midair_store_calls_total',
    'midair.store.calls',
    'counter',
    ['side', 'op', 'result'],
    '{call}',
    'Calls the repository made on each store, by side, operation and result (ok or the error code).',
  ),
  storeCallDuration: ev(
    'midair_store_call_duration_seconds',
    'midair.store.call.duration',
    'histogram',
    ['side', 'op'],
    's',
    'Time of each call the repository made on a store, from its start to its answer or failure.',
  ),
  secondWriteFailures: ev(
    'midair_second_write_failures_total',
    'midair.second_write.failures',
    'counter',
    ['side', 'code'],
    '{write}',
    'Best-effort second writes that failed (their keys went to the repair queue), by the side written and the error code.',
  ),
  repairsEnqueued: ev(
    'midair_repairs_enqueued_total',
    'midair.repairs.enqueued',
    'counter',
    ['reason'],
    '{repair}',
    'Keys this process queued for repair, by reason.',
  ),
  repairs: ev(
    'midair_repairs_total',
    'midair.repairs',
    'counter',
    ['result'],
    '{repair}',
    'Repair syncs this process made, by what they did: the key written (put), deleted, or absent from both stores.',
  ),
  repairsParked: ev(
    'midair_repairs_parked_total',
    'midair.repairs.parked',
    'counter',
    ['code'],
    '{repair}',
    'Repairs this process parked for the operator (a retry cannot fix them), by error code.',
  ),
  shadowComparisons: ev(
    'midair_shadow_comparisons_total',
    'midair.shadow.comparisons',
    'counter',
    ['result'],
    '{comparison}',
    'Shadow comparisons this process made: match, mismatch (after its re-check), or error (the other store could not be read).',
  ),
  lazyCopies: ev(
    'midair_lazy_copies_total',
    'midair.lazy_copies',
    'counter',
    [],
    '{entity}',
    'Entities copied into new on a read that missed there.',
  ),
  halts: ev('midair_halts_total', 'midair.halts', 'counter', [], '{halt}', 'Automatic halts this process triggered.'),
  backgroundErrors: ev(
    'midair_background_errors_total',
    'midair.background.errors',
    'counter',
    [],
    '{error}',
    'Errors of background work (polling, repairs, comparisons, listeners) that no caller saw.',
  ),
  instancePhaseVersion: ev(
    'midair_instance_phase_version',
    'midair.instance.phase_version',
    'gauge',
    [],
    '1',
    'The phase-state version this process serves with.',
  ),
  controlUp: ctl(
    'midair_control_store_up',
    'midair.control_store.up',
    'gauge',
    [],
    '1',
    '1 when the last read of the control store succeeded, 0 when it failed (the other control-store figures are then left out).',
  ),
  phase: ctl(
    'midair_phase',
    'midair.phase',
    'gauge',
    ['phase'],
    '1',
    'The migration’s phase: 1 for the current one, 0 for the others.',
  ),
  phaseVersion: ctl(
    'midair_phase_version',
    'midair.phase.version',
    'gauge',
    [],
    '1',
    'The version of the phase state (it grows with every change).',
  ),
  phaseChanged: ctl(
    'midair_phase_changed_timestamp_seconds',
    'midair.phase.changed_time',
    'gauge',
    [],
    's',
    'When the phase state last changed (Unix time).',
  ),
  rampRatio: ctl(
    'midair_ramp_ratio',
    'midair.ramp',
    'gauge',
    [],
    '1',
    'The share of keys read from new during the ramp (0 to 1).',
  ),
  writesPaused: ctl(
    'midair_writes_paused',
    'midair.writes_paused',
    'gauge',
    [],
    '1',
    '1 while writes are frozen for a cutover.',
  ),
  strictWrites: ctl(
    'midair_strict_writes',
    'midair.strict_writes',
    'gauge',
    [],
    '1',
    '1 while dual writes are strict.',
  ),
  fleetInstances: ctl(
    'midair_fleet_instances',
    'midair.fleet.instances',
    'gauge',
    ['phase_version'],
    '{instance}',
    'Live instances of the fleet, by the phase-state version they acknowledged.',
  ),
  fleetUnacknowledged: ctl(
    'midair_fleet_unacknowledged_instances',
    'midair.fleet.unacknowledged_instances',
    'gauge',
    [],
    '{instance}',
    'Live instances that have not acknowledged the current phase-state version yet.',
  ),
  repairQueueDepth: ctl(
    'midair_repair_queue_depth',
    'midair.repair_queue.depth',
    'gauge',
    [],
    '{repair}',
    'Repairs waiting in the queue (intents of writes in flight left out).',
  ),
  parkedRepairs: ctl(
    'midair_parked_repairs',
    'midair.repairs.parked_now',
    'gauge',
    [],
    '{repair}',
    'Parked repairs waiting for the operator.',
  ),
  deadLetters: ctl(
    'midair_dead_letters',
    'midair.dead_letters',
    'gauge',
    [],
    '{row}',
    'Rows the backfill could not copy, not yet retried or accepted.',
  ),
  backfillRows: ctl(
    'midair_backfill_rows_total',
    'midair.backfill.rows',
    'counter',
    ['run'],
    '{row}',
    'Rows the run’s copy has done, earlier runs of the same name included (back to 0 when it restarts).',
  ),
  backfillProgress: ctl(
    'midair_backfill_progress_ratio',
    'midair.backfill.progress',
    'gauge',
    ['run'],
    '1',
    'The run’s copy progress, 0 to 1 (1 once the copy reached the end).',
  ),
  backfillRate: ctl(
    'midair_backfill_rows_per_second',
    'midair.backfill.rate',
    'gauge',
    ['run'],
    '{row}/s',
    'The run’s copy rate as it last reported it (0 once it ended).',
  ),
  backfillEta: ctl(
    'midair_backfill_eta_seconds',
    'midair.backfill.eta',
    'gauge',
    ['run'],
    's',
    'The run’s estimated time left, live inserts ahead of the copy counted (left out while it has no estimate).',
  ),
  backfillRunning: ctl(
    'midair_backfill_running',
    'midair.backfill.running',
    'gauge',
    ['run'],
    '1',
    '1 while the run has not ended (check midair_backfill_progress_timestamp_seconds for one whose process died).',
  ),
  backfillProgressAt: ctl(
    'midair_backfill_progress_timestamp_seconds',
    'midair.backfill.progress_time',
    'gauge',
    ['run'],
    's',
    'When the run last reported its progress (Unix time).',
  ),
  backfillComplete: ctl(
    'midair_backfill_complete',
    'midair.backfill.complete',
    'gauge',
    [],
    '1',
    '1 once a backfill completed (since the last rollback to old-only), as the gates see it.',
  ),
  verifyDifferences: ctl(
    'midair_verify_differences',
    'midair.verify.differences',
    'gauge',
    ['kind'],
    '{entity}',
    'What the last verification found: entities missing in new, extra in new, or different.',
  ),
  verifyMatched: ctl(
    'midair_verify_matched',
    'midair.verify.matched',
    'gauge',
    [],
    '{entity}',
    'Entities the last verification found equal.',
  ),
  verifyTime: ctl(
    'midair_verify_timestamp_seconds',
    'midair.verify.time',
    'gauge',
    [],
    's',
    'When the last verification ended (Unix time).',
  ),
  verifyInfo: ctl(
    'midair_verify_info',
    'midair.verify.info',
    'gauge',
    ['mode', 'status', 'phase'],
    '1',
    'The last verification: its mode, status and the phase it ran in (value 1).',
  ),
  shadowPhaseComparisons: ctl(
    'midair_shadow_phase_comparisons',
    'midair.shadow.phase_comparisons',
    'gauge',
    [],
    '{comparison}',
    'Shadow comparisons the live fleet made in the current phase version (what the shadow gate counts).',
  ),
  shadowPhaseMismatches: ctl(
    'midair_shadow_phase_mismatches',
    'midair.shadow.phase_mismatches',
    'gauge',
    [],
    '{comparison}',
    'Of those, the ones that mismatched.',
  ),
  shadowMismatchRatio: ctl(
    'midair_shadow_mismatch_ratio',
    'midair.shadow.mismatch_ratio',
    'gauge',
    [],
    '1',
    'Mismatches per comparison in the current phase version (left out before the first comparison).',
  ),
  gatePassing: ctl(
    'midair_gate_passing',
    'midair.gate.passing',
    'gauge',
    ['to', 'gate'],
    '1',
    '1 for each gate into the next phase that holds, 0 for each that blocks.',
  ),
} satisfies Record<string, FigureSpec>);

export type FigureName = keyof typeof FIGURES;

/** Buckets of the store-call histogram, seconds: sub-millisecond reads to calls near the default 2 s timeout and past it. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** One value of a figure, with its labels (each figure's own, `migration` first). */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One histogram's state, buckets not cumulative: `buckets[i]` counts values ≤ `bounds[i]` and above the bound before; the last, above every bound. */
export interface HistogramSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly bounds: readonly number[];
  readonly buckets: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}
