import { ERROR_CODES } from '../core/errors.js';

/**
 * The values a label may take, each from a fixed set, so that no series is
 * made per key, per message or per anything that grows: what falls outside a
 * set is counted under `other` (an operation, a reason) or `UNKNOWN` (an
 * error code).
 */

/** The store operations the repository (and the shadow comparator) calls, by the name its `store-call` event gives. */
export const STORE_OPS = [
  'get',
  'readKey',
  'list',
  'query',
  'sync',
  'put',
  'delete',
  'update',
  'shadow-read',
  'other',
] as const;
export type StoreOp = (typeof STORE_OPS)[number];

/** A store call's outcome: `ok`, or the error code it failed with. */
export const CALL_RESULTS = ['ok', ...ERROR_CODES] as const;

/** Why a key was queued for repair: an error code, or one of the repository's own reasons. */
export const REPAIR_REASONS = [...ERROR_CODES, 'UNKNOWN_OUTCOME', 'STRICT_REFUSED', 'INTENT', 'other'] as const;

export const SHADOW_RESULTS = ['match', 'mismatch', 'error'] as const;
export const REPAIR_RESULTS = ['put', 'deleted', 'absent'] as const;
export const DIFFERENCE_KINDS = ['missing', 'extra', 'different'] as const;

const ops: ReadonlySet<string> = new Set(STORE_OPS);
const codes: ReadonlySet<string> = new Set(ERROR_CODES);
const reasons: ReadonlySet<string> = new Set(REPAIR_REASONS);

/** The label of a store operation (`other` for one outside {@link STORE_OPS}). */
export const opLabel = (op: string): string => (ops.has(op) ? op : 'other');

/** The label of an error code (`UNKNOWN` for one midair does not define). */
export const codeLabel = (code: string): string => (codes.has(code) ? code : 'UNKNOWN');

/** The label of a repair's reason (`other` for one outside {@link REPAIR_REASONS}). */
export const reasonLabel = (reason: string): string => (reasons.has(reason) ? reason : 'other');
