import type { ControlStore, RangeLease } from '../control/control-store.js';
import { leaseFenceName } from '../core/fence-rules.js';
import type { Fence, Fencing } from '../core/store.js';

/** A claimed range, and the fence its writes carry (`undefined` where the target keeps no fences). */
export interface FencedLease {
  readonly lease: RangeLease;
  readonly fence: Fence | undefined;
}

/**
 * Claims a range whose lease is free or expired (`rangeId`: that one only)
 * and raises its fence in the store the run writes: the new holder's token,
 * above any token an earlier holder's writes may carry — the store's fence
 * for the range is read first and the claim's token taken above it, so
 * ranges created anew (their tokens restarting) still fence the writers of
 * the old ones. When the raise resolves, every write of an earlier holder
 * has landed or will be refused (FENCED, nothing written): a worker that
 * stalled past its lease cannot write after the range changed hands, however
 * long it stalled. `undefined` when no range is free.
 */
export async function claimFenced(
  control: ControlStore,
  fencing: Fencing | undefined,
  job: { readonly migration: string; readonly name: string; readonly owner: string; readonly leaseMs: number },
  rangeId?: number,
): Promise<FencedLease | undefined> {
  const { migration, name, owner, leaseMs } = job;
  let lease = await control.claimRange(migration, name, owner, leaseMs, { rangeId });
  if (!lease || !fencing) return lease && { lease, fence: undefined };
  const fenceName = leaseFenceName(migration, name, lease.rangeId);
  const above = await fencing.fenceOf(fenceName);
  if (above >= lease.token) {
    // The range's tokens fell behind its fence (its ranges were created anew): hand it back, claim it above the fence.
    await control.renewRange(migration, name, lease.rangeId, lease.token, -1);
    lease = await control.claimRange(migration, name, owner, leaseMs, { rangeId: lease.rangeId, above });
    if (!lease) return undefined; // another claimer took it meanwhile (above the fence too)
  }
  const fence: Fence = { migration: fenceName, epoch: lease.token };
  await fencing.raiseFence(fence);
  return { lease, fence };
}
