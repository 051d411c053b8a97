/**
 * Background archive upload for a client that stays open (`connect()`, `custos chat`):
 * a record captured while nobody calls `flushArchive()` — a message received on the socket,
 * the delivery receipt sent for it — must still be sealed, uploaded and receipted. The
 * schedule is a single timer:
 *
 * - a capture arms it (ARCHIVE_IDLE_FLUSH_MS later) unless it is armed already, so steady
 *   traffic cannot postpone the upload indefinitely;
 * - a round seals, uploads (one attempt) and verifies what checkpoints cover;
 * - while uploaded records wait for a checkpoint it polls, ARCHIVE_PROOF_POLL_MS after a
 *   round that made progress and backing off after rounds that did not;
 * - after a failure it backs off (exponential, full jitter, at most ARCHIVE_RETRY_MAX_MS)
 *   and tries again for as long as the client is open.
 *
 * Invariant: while started, a queue that holds any record always has the timer armed or a
 * round running, so no captured record waits for the user's next action.
 */
import { backoffDelay } from '../transport/backoff.js';

/** Quiet time between a capture and the background upload of a connected client. */
export const ARCHIVE_IDLE_FLUSH_MS = 1_000;
/** Pause between proof rounds while uploaded records wait for a checkpoint (the server signs one every ~250 ms). */
export const ARCHIVE_PROOF_POLL_MS = 1_000;
/** Longest pause between background rounds after failures. */
export const ARCHIVE_RETRY_MAX_MS = 60_000;

/** What one background round reports. */
export interface FlushRoundResult {
  /** Records still in the queue (captured and not yet proven). */
  readonly queued: number;
  /** Whether the round uploaded or proved anything. */
  readonly progressed: boolean;
}

/** What the scheduler needs. */
export interface AutoFlushDeps {
  /** One round: seal, upload once, verify proofs. Rejects on any failure. */
  readonly round: () => Promise<FlushRoundResult>;
  /** Records in the queue now (cheap: a count). */
  readonly queued: () => number;
  readonly idleMs?: number;
  readonly pollMs?: number;
}

/** The background upload schedule of one client. */
export class ArchiveAutoFlush {
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Rounds in a row that failed or made no progress (the backoff exponent). */
  #stalls = 0;
  /** A capture arrived during a round: arm again afterwards even if the round found nothing. */
  #dirty = false;

  constructor(private readonly d: AutoFlushDeps) {}

  /** Starts the schedule; arms the timer when the queue already holds records. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.d.queued() > 0) this.#arm(this.d.idleMs ?? ARCHIVE_IDLE_FLUSH_MS);
  }

  /** A record was captured: arms the timer unless armed or running. */
  captured(): void {
    if (!this.#started) return;
    if (this.#running !== undefined) this.#dirty = true;
    else if (this.#timer === undefined) this.#arm(this.d.idleMs ?? ARCHIVE_IDLE_FLUSH_MS);
  }

  /** Stops the schedule; resolves once a running round has finished. */
  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Stops at once without waiting (a simulated crash). */
  abandon(): void {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(ms: number): void {
    clearTimeout(this.#timer);
    // Unreferenced: an open socket keeps a long-running client alive, not this timer.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#run().finally(() => (this.#running = undefined));
    }, ms).unref();
  }

  async #run(): Promise<void> {
    this.#dirty = false;
    const poll = this.d.pollMs ?? ARCHIVE_PROOF_POLL_MS;
    let next: number | undefined;
    try {
      const r = await this.d.round();
      this.#stalls = r.progressed ? 0 : this.#stalls + 1;
      if (r.queued > 0)
        next = this.#stalls === 0 ? poll : backoffDelay(this.#stalls, poll, ARCHIVE_RETRY_MAX_MS);
    } catch {
      // Network down, server overloaded, store closing: try again later, never give up while open.
      next = backoffDelay(++this.#stalls, poll, ARCHIVE_RETRY_MAX_MS);
    }
    if (!this.#started) return;
    if (next === undefined && this.#dirty) next = this.d.idleMs ?? ARCHIVE_IDLE_FLUSH_MS;
    if (next !== undefined) this.#arm(next);
  }
}
