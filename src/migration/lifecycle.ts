import { MidairError } from '../core/errors.js';

export const LIFECYCLE_STATES = ['idle', 'starting', 'running', 'closing', 'closed'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/**
 * An instance's life as an explicit state machine:
 * idle → starting → running → closing → closed (a failed start goes back to
 * idle). Calls are served only while running; a closing or closed instance
 * refuses them with CLOSED and never heartbeats again.
 */
export class Lifecycle {
  readonly #what: string;
  #state: LifecycleState = 'idle';
  #started = deferred();
  readonly #closed = deferred();

  constructor(what: string) {
    this.#what = what;
  }

  get state(): LifecycleState {
    return this.#state;
  }

  /** Between a start and the end of a close. */
  get started(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  get serving(): boolean {
    return this.#state === 'running';
  }

  /** Heartbeats are sent only while starting or running: never after close() began. */
  get heartbeats(): boolean {
    return this.started;
  }

  /** True when the caller should run the start; false when a start is under way or done. Throws once closing. */
  begin(): boolean {
    this.assertServing();
    if (this.#state !== 'idle') return false;
    this.#state = 'starting';
    return true;
  }

  ready(): void {
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    this.#started.resolve();
  }

  failedToStart(error: unknown): void {
    if (this.#state !== 'starting') return;
    this.#state = 'idle';
    this.#started.reject(error);
    this.#started = deferred();
  }

  /** Resolves once running (a start under way by another caller). */
  async running(): Promise<void> {
    if (this.#state === 'running') return;
    await this.#started.promise;
    this.assertServing();
  }

  assertServing(): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new MidairError(
        'CLOSED',
        `${this.#what}: this instance is ${this.#state} and serves no more calls; create a new one to rejoin the fleet`,
      );
    }
  }

  /** True when the caller should run the close; false when another close runs or ran (wait with closed()). */
  close(): boolean {
    if (this.#state === 'closing' || this.#state === 'closed') return false;
    this.#state = 'closing';
    this.#started.reject(new MidairError('CLOSED', `${this.#what}: closed while starting`));
    return true;
  }

  finish(): void {
    this.#state = 'closed';
    this.#closed.resolve();
  }

  async closed(): Promise<void> {
    await this.#closed.promise;
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a start nobody waits for must not be an unhandled rejection
  return { promise, resolve, reject };
}
