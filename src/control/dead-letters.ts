import type { RepairInput } from './repair-queue.js';

/** A row the backfill could not copy: its key and an error code, never its values. */
export interface DeadLetter {
  readonly keyId: string;
  /** The error's code (`ENCODING`, `TRANSFORM`, a driver code …). */
  readonly reason: string;
  readonly at: Date;
  /** How many times it failed. */
  readonly attempts: number;
}

/** Rows the backfill could not copy, by key, until they are retried or accepted. */
export interface DeadLetters {
  /** Records rows that could not be copied (a repeat counts another attempt). */
  addDeadLetters(migration: string, entries: readonly RepairInput[]): Promise<void>;
  /** Oldest first. */
  deadLetters(migration: string, limit: number): Promise<DeadLetter[]>;
  /** Removes those keys' dead letters; resolves how many there were. */
  removeDeadLetters(migration: string, keyIds: readonly string[]): Promise<number>;
  deadLetterCount(migration: string): Promise<number>;
}
