/**
 * What a device's archive queue holds that the server has not acknowledged, and what a
 * revocation does to it (docs/threat-model.md, "Revoked devices and their archive queue").
 * A device retiring itself uploads first and names what it strands; a device revoked by
 * someone else may still hand in what it sealed before, during the server's hand-in window,
 * and then tells its user how much it handed in and how much it could not.
 */
import { isServerRefusal } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';
import { uploadedThrough } from './uploader.js';

/** A run of this device's archive chain, by sequence number (inclusive). */
export interface ArchiveRun {
  readonly count: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/** What a revocation's details say: when, and until when the server takes what the device sealed before. */
export interface Revocation {
  readonly revokedAt: number;
  /**
   * The end of its hand-in window (ms); null when it was granted none (the server takes nothing
   * from it); undefined when the refusal did not say (some DEVICE_REVOKED answers carry no
   * times, such as a send that raced the revocation).
   */
  readonly handInUntil: number | null | undefined;
}

/** What handing the queue in achieved. */
export interface ArchiveHandIn {
  /** Records the server acknowledged in this hand-in. */
  readonly uploaded: number;
  /** Queued records (sealed or still pending) the server has not acknowledged; undefined when none. */
  readonly notUploaded: ArchiveRun | undefined;
  /** Why the upload stopped early (a refusal, the network), when it did. */
  readonly error?: unknown;
}

/**
 * The queued records after the last acknowledged one: captured, maybe sealed, never
 * acknowledged by the server. Undefined when the queue holds none. They are consecutive
 * (the chain numbers every capture; an accepted gap declaration moves the acknowledged
 * position past its run), so the first and last bound them.
 */
export function notUploadedRun(store: LocalStore): ArchiveRun | undefined {
  const firstSeq = store.listAfter('archive-queue', uploadedThrough(store), 1)[0]?.ord;
  const lastSeq = store.last('archive-queue')?.ord;
  if (firstSeq == null || lastSeq == null) return undefined;
  return { count: lastSeq - firstSeq + 1, firstSeq, lastSeq };
}

/** The revocation a DEVICE_REVOKED refusal describes (its details), or undefined for any other error. */
export function revocationOf(e: unknown): Revocation | undefined {
  if (!isServerRefusal(e, 'DEVICE_REVOKED')) return undefined;
  const d = e.server?.details as { revokedAt?: unknown; handInUntil?: unknown } | undefined;
  const ms = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  // A refusal without its times says nothing of a window: not "none", which would tell the
  // user their records are lost when a window may be open.
  if (d === undefined || !ms(d.revokedAt) || !('handInUntil' in d)) {
    return { revokedAt: d !== undefined && ms(d.revokedAt) ? d.revokedAt : 0, handInUntil: undefined };
  }
  // A granted window always ends after the revocation; earlier servers sent `handInUntil` equal
  // to `revokedAt` for none.
  const until = ms(d.handInUntil) && d.handInUntil > d.revokedAt ? d.handInUntil : null;
  return { revokedAt: d.revokedAt, handInUntil: until };
}
