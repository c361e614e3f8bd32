import { MidairError } from '../../core/errors.js';
import type { CliContext } from '../context.js';
import { color } from '../output.js';
import { cliActor, type OperatorOptions } from './repairs.js';

/** One instance as `midair fleet list` shows it. */
export interface FleetRow {
  readonly instanceId: string;
  readonly host: string;
  /** Parsed from a default instance id (`<host>:<pid>:<random>`); null for an id the application chose. */
  readonly pid: number | null;
  /** The phase-state version it serves with, and whether that is the current one. */
  readonly phaseVersion: number;
  readonly acknowledged: boolean;
  readonly inFlightWrites: number;
  readonly lastSeen: string;
  readonly lastSeenMsAgo: number;
  readonly startedAt: string;
}

export interface FleetList {
  readonly migration: string;
  readonly version: number;
  readonly instances: readonly FleetRow[];
}

/** The pid in a default instance id, `<host>:<pid>:<8 hex digits>`; undefined for any other id. */
export function pidOf(instanceId: string): number | undefined {
  const m = /^.+:(\d{1,10}):[0-9a-f]{8}$/.exec(instanceId);
  const pid = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(pid) ? pid : undefined;
}

/** `midair fleet list`: every instance with a heartbeat on record, however old, newest heartbeat first. */
export async function listFleet(ctx: CliContext, now = Date.now()): Promise<FleetList> {
  const m = ctx.spec.name;
  const state = await ctx.control.getState(m);
  const version = state?.version ?? 0;
  const instances = (await ctx.control.instances(m, new Date(0))).sort(
    (a, b) => b.lastSeen.getTime() - a.lastSeen.getTime() || (a.instanceId < b.instanceId ? -1 : 1),
  );
  return {
    migration: m,
    version,
    instances: instances.map((i) => ({
      instanceId: i.instanceId,
      host: i.host,
      pid: pidOf(i.instanceId) ?? null,
      phaseVersion: i.phaseVersion,
      acknowledged: i.phaseVersion >= version,
      inFlightWrites: i.inFlightWrites,
      lastSeen: i.lastSeen.toISOString(),
      lastSeenMsAgo: Math.max(0, now - i.lastSeen.getTime()),
      startedAt: i.startedAt.toISOString(),
    })),
  };
}

/** An age for people: `850 ms`, `12 s`, `5 min`, `3 h`, `2 d`. */
export function age(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

export function formatFleet(f: FleetList): string {
  const lines = [
    `${color.bold(f.migration)}  ${f.instances.length} instance(s) with a heartbeat on record (phase version ${f.version})`,
  ];
  if (f.instances.length === 0) return lines.join('\n');
  lines.push(`  ${['INSTANCE', 'HOST', 'PID', 'VERSION', 'LAST HEARTBEAT'].join('  ')}`);
  for (const i of f.instances) {
    const version = i.acknowledged
      ? `${i.phaseVersion} ${color.green('✓')}`
      : `${i.phaseVersion} ${color.red('behind')}`;
    lines.push(
      `  ${[i.instanceId, i.host, i.pid === null ? '-' : String(i.pid), version, `${age(i.lastSeenMsAgo)} ago`].join('  ')}`,
    );
  }
  return lines.join('\n');
}

export interface Eviction {
  readonly migration: string;
  readonly instanceId: string;
  readonly host: string;
  readonly lastSeenMsAgo: number;
}

/**
 * `midair fleet evict <instance> --reason "…"`: removes the instance's
 * heartbeat (a process that is gone for good, which gates would otherwise
 * wait on), audited `evict`. Refuses, writing nothing, without a reason or
 * for an instance with no heartbeat on record. A process still running shows
 * up again with its next heartbeat.
 */
export async function evictInstance(
  ctx: CliContext,
  instanceId: string,
  o: OperatorOptions & { readonly reason?: string },
  now = Date.now(),
): Promise<Eviction> {
  const reason = o.reason?.trim() ?? '';
  if (reason === '')
    throw new MidairError(
      'INVALID_ARGUMENT',
      'fleet evict needs --reason "<why>": the reason goes to the audit log; nothing changed',
    );
  const m = ctx.spec.name;
  const found = (await ctx.control.instances(m, new Date(0))).find((i) => i.instanceId === instanceId);
  if (!found)
    throw new MidairError(
      'INVALID_ARGUMENT',
      `fleet evict: migration ${m} has no instance "${instanceId}" on record; nothing changed. \`midair fleet list\` shows them.`,
    );
  await ctx.control.removeInstance(m, instanceId);
  await ctx.control.appendAudit(m, {
    actor: cliActor(o.actor),
    action: 'evict',
    reason: `${reason} [evicted ${instanceId}]`,
    forced: false,
  });
  return { migration: m, instanceId, host: found.host, lastSeenMsAgo: Math.max(0, now - found.lastSeen.getTime()) };
}

export function formatEviction(e: Eviction): string {
  return `${e.migration}: evicted ${e.instanceId} on ${e.host} (last heartbeat ${age(e.lastSeenMsAgo)} ago), recorded in the audit log; if it is still running it shows up again with its next heartbeat`;
}
