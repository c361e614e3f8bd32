/**
 * Checkpoints: text values by migration and name, kept for jobs and gates.
 * Every name and the shape of its value belong to `checkpoints.ts`: read and
 * write them through its typed helpers, not these methods directly.
 */
export interface CheckpointStore {
  /** Creates or overwrites the checkpoint. */
  saveCheckpoint(migration: string, name: string, value: string): Promise<void>;
  /** The checkpoint's value, or `undefined` when there is none. */
  loadCheckpoint(migration: string, name: string): Promise<string | undefined>;
  /** Removes the checkpoint; removing one that does not exist does nothing. */
  deleteCheckpoint(migration: string, name: string): Promise<void>;
}
