/**
 * Exit codes of every `midair` command:
 * 0 done; 1 done, and what it checked is not clean (differences, a blocked
 * gate, an unfinished backfill); 2 bad usage or configuration (nothing was
 * written); 3 a store or the control store failed.
 */
export const EXIT = Object.freeze({ ok: 0, notClean: 1, usage: 2, failure: 3 });
