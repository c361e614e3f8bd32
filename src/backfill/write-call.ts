import type { CallOptions, Fence } from '../core/store.js';
import type { BackfillOptions } from './backfill-options.js';

/** The options of a chunk's writes: the run's signal and phase fence, and its range's lease where it holds one. */
export function writeCall(ctx: {
  readonly options: Pick<BackfillOptions<object>, 'signal' | 'fence'>;
  readonly lease?: Fence | undefined;
}): CallOptions {
  const { signal, fence } = ctx.options;
  return { signal, fence, lease: ctx.lease };
}
