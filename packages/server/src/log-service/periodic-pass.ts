/**
 * The timer behind the log integrator and the search indexer. Passes never overlap: a pass
 * asked for while one runs starts when it ends. After start() the first pass runs at once,
 * each next one an interval after the previous one began — or, when a pass reports that it
 * is behind (pushback: it hit its per-pass maximum), after a short catch-up pause. stop()
 * cancels the timer and waits for a running pass, so a caller may then close the store.
 */

/** What a {@link PeriodicPass} runs and how often. */
export interface PeriodicPassOptions<T> {
  /** One pass; its rejection goes to `onError` and the timer keeps going. */
  readonly pass: () => Promise<T>;
  readonly intervalMs: number;
  readonly clock: () => number;
  /** Called with the rejection of a timer-started pass (a pass run through run() rejects to its caller). */
  readonly onError: (e: unknown) => void;
  /** Pushback: when `behind(result)`, the next pass follows after `delayMs` instead of the interval. */
  readonly catchUp?: { readonly delayMs: number; readonly behind: (result: T) => boolean };
}

/** Runs one pass at a time, on a timer and on demand. */
export class PeriodicPass<T> {
  readonly #o: PeriodicPassOptions<T>;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<unknown> = Promise.resolve();
  #stopped = true;

  constructor(options: PeriodicPassOptions<T>) {
    this.#o = options;
  }

  /** Starts the timer; the first pass runs at once. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a running pass to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass.catch(() => undefined);
  }

  /** Runs one pass after any running one. */
  run(): Promise<T> {
    const run = this.#pass.catch(() => undefined).then(() => this.#o.pass());
    this.#pass = run;
    return run;
  }

  #schedule(delay: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const started = this.#o.clock();
      let behind = false;
      void this.run()
        .then((result) => {
          behind = this.#o.catchUp?.behind(result) ?? false;
        })
        .catch(this.#o.onError)
        .finally(() => {
          if (this.#stopped) return;
          const wait =
            behind && this.#o.catchUp !== undefined
              ? this.#o.catchUp.delayMs
              : this.#o.intervalMs - (this.#o.clock() - started);
          this.#schedule(Math.max(0, wait));
        });
    }, delay);
  }
}
