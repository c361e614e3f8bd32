import type { BackfillResult, GateThresholds, Migration, VerifyReport } from '../src/index.js';
import { nextPhase, type Phase } from '../src/core/phases.js';
import type { BenchUser } from './data.js';

/** What the operator's walk did: each phase's span and how long its own work took, the jobs' results. */
export interface Walk {
  /** Each phase the walk entered, with when it was entered and left (ms after the walk began). */
  readonly phases: { readonly phase: Phase; readonly fromMs: number; readonly toMs: number }[];
  /** Time spent in the operator's calls (phase changes, their waits, backfill, verifications), none of the dwells. */
  readonly workMs: number;
  readonly backfill: BackfillResult;
  /** The verification each phase's work ended with (clean), and how many runs it took (repairs between). */
  readonly verifications: { readonly phase: Phase; readonly report: VerifyReport; readonly runs: number }[];
}

export interface WalkSettings {
  /** Each phase lasts at least this long (so the application's writes in it are enough for a p99). */
  readonly dwellMs: number;
  /** The gates' thresholds, as the config file would give them. */
  readonly gates: GateThresholds;
  /** How long a gate that waits for the repair queue may keep the walk waiting. */
  readonly gateWaitMs: number;
  /** Where the walk says what it does (nothing by default). */
  readonly log?: (text: string) => void;
}

const sleep = async (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Moves the migration through every phase from old-only to complete as an
 * operator does with the command line: each advance through its gates
 * (waiting, as an operator would, while only the repair queue blocks —
 * the instances' repairers drain it), the backfill and a full verification
 * in dual-write, a ramp at 10 % then 100 %, the final full verification in
 * new-primary, then old-read-only and complete.
 */
export async function walkEveryPhase(m: Migration<bigint, BenchUser>, s: WalkSettings): Promise<Walk> {
  const t0 = performance.now();
  const at = (): number => performance.now() - t0;
  const phases: Walk['phases'] = [];
  const verifications: Walk['verifications'] = [];
  let workMs = 0;
  const work = async <T>(fn: () => Promise<T>): Promise<T> => {
    const w0 = performance.now();
    try {
      return await fn();
    } finally {
      workMs += performance.now() - w0;
    }
  };
  let entered = 0;
  let phase: Phase = 'old-only';
  const dwell = async (): Promise<void> => sleep(s.dwellMs - (at() - entered));
  const advance = async (rampPercent?: number): Promise<void> => {
    await work(async () => advanceThroughGates(m, s, rampPercent));
    s.log?.(`${(at() / 1000).toFixed(1)} s: left ${phase}`);
    phases.push({ phase, fromMs: entered, toMs: at() });
    entered = at();
    phase = (await m.facts()).state.phase;
  };
  await dwell(); // old-only: the baseline
  await advance();
  const backfill = await work(async () => m.backfill());
  if (backfill.status !== 'complete')
    throw new Error(
      `backfill ${backfill.status}${backfill.error ? `: ${backfill.error.code}: ${backfill.error.message}` : ''}`,
    );
  verifications.push({ phase, ...(await work(async () => verifyClean(m, s))) });
  await dwell();
  await advance(); // shadow-read
  await dwell();
  await advance(10); // ramp 10 %
  await sleep(s.dwellMs / 2);
  await work(async () => m.setRamp(100, { reason: 'bench: ramp to 100 %' }));
  await dwell();
  await advance(); // new-primary: the cutover
  verifications.push({ phase, ...(await work(async () => verifyClean(m, s))) });
  await dwell();
  await advance(); // old-read-only
  await dwell();
  await advance(); // complete
  await dwell();
  phases.push({ phase, fromMs: entered, toMs: at() });
  return { phases, workMs, backfill, verifications };
}

/**
 * A full verification, as an operator gets one that passes the gates: first
 * the repair queue drained by the instances (waited for), then `verify`; if
 * it finds differences (writes whose second write had not landed yet), a
 * repair run (`midair repair`) and a verification again, at most three times.
 */
async function verifyClean(
  m: Migration<bigint, BenchUser>,
  s: WalkSettings,
): Promise<{ report: VerifyReport; runs: number }> {
  let report: VerifyReport | undefined;
  for (let runs = 1; runs <= 3; runs++) {
    await queueDrained(m, s);
    report = await m.verify({ mode: 'full' });
    s.log?.(
      `verification ${runs}: ${report.status} (${report.missing.total} missing, ${report.extra.total} extra, ${report.different.total} different)`,
    );
    if (report.status === 'equal') return { report, runs };
    await m.verify({ mode: 'full', repair: true });
  }
  throw new Error(
    `no clean verification in three tries: the last found ${report?.missing.total} missing, ${report?.extra.total} extra, ${report?.different.total} different`,
  );
}

/** Waits (at most `gateWaitMs`) until no repair is pending, as the gates count them. */
async function queueDrained(m: Migration<bigint, BenchUser>, s: WalkSettings): Promise<void> {
  const deadline = performance.now() + s.gateWaitMs;
  while ((await m.facts()).repairDepth > 0 && performance.now() < deadline) await sleep(250);
}

/** One advance through its gates; while only the repair queue, the fleet or the capacity figures block, waits and tries again. */
async function advanceThroughGates(
  m: Migration<bigint, BenchUser>,
  s: WalkSettings,
  rampPercent?: number,
): Promise<void> {
  const from = (await m.facts()).state.phase;
  const to = nextPhase(from);
  if (!to) throw new Error(`no phase after ${from}`);
  const deadline = performance.now() + s.gateWaitMs;
  for (;;) {
    const blocked = (await m.gates(to, s.gates)).filter((g) => !g.ok);
    // The repair queue drains, the fleet acknowledges, and the capacity figures grow with the application's calls:
    // those are waited for; anything else blocks at once.
    const waitable = blocked.every((g) => g.gate === 'repairs' || g.gate === 'fleet' || g.gate === 'capacity');
    if (blocked.length === 0 || !waitable || performance.now() > deadline) break;
    await sleep(250);
  }
  try {
    await m.advance({
      reason: `bench: ${from} → ${to}`,
      gated: s.gates,
      ...(rampPercent === undefined ? {} : { rampPercent }),
    });
  } catch (error) {
    const blocked = (await m.gates(to, s.gates)).filter((g) => !g.ok);
    const why = blocked.map((g) => `${g.gate}: ${g.detail}`).join('; ');
    const audit = (await m.auditLog(4)).map((e) => `${e.action} ${e.from?.phase ?? '-'} → ${e.to.phase} (${e.reason})`);
    throw new Error(
      `${from} → ${to}: ${(error as Error).message.split('\n')[0] ?? ''} ${why}; audit, newest first: ${audit.join(' | ')}`,
      { cause: error },
    );
  }
}
