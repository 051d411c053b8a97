/**
 * The archive hand-in window of a revoked device (docs/threat-model.md, "Revoked devices and
 * their archive queue"). Revocation locks a device out of everything at once (F5), but
 * records it sealed before the revocation and had not uploaded yet would be lost silently:
 * its user or an admin revoking a phone cannot know what its queue held. So for a bounded
 * time after its revocation the device may still log in and use the routes marked
 * `handIn` (archive upload and its chain head) — ingest only: no relay, no prekeys, no
 * blobs, no directory. Its chain must go on from the stored head (sequence numbers and
 * hashes, as for any device), and a record sealed to a bucket whose window begins after the
 * revocation is refused (it cannot have been sealed before it). Every record it hands in is
 * logged at the time the server accepted it, later than its `device-revoked` entry, which
 * is how the officers' completeness report shows it as a post-revocation upload.
 */
import { DEFAULT_ARCHIVE_HAND_IN_DAYS } from '../config/defaults.js';
import { ServerError } from '../errors.js';
import type { AppDeps } from '../http/route-def.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The hand-in window, in ms, that `deps` configure (the default when unset). */
export function handInWindowMs(deps: Pick<AppDeps, 'archiveHandInMs'>): number {
  return deps.archiveHandInMs ?? DEFAULT_ARCHIVE_HAND_IN_DAYS * DAY_MS;
}

/**
 * The hand-in deadline to store with a revocation at `now`: null (locked out at once, F5)
 * unless the revocation grants a window and the server's setting is not 0. Fixed here, once:
 * changing the setting later neither reopens nor shortens a revocation's window.
 */
export function handInDeadline(grant: boolean, windowMs: number, now: number): number | null {
  return grant && windowMs > 0 ? now + windowMs : null;
}

/** Whether a device revoked with deadline `handInUntil` (null: no window) may hand in records at `now`. */
export function mayHandIn(handInUntil: number | null, now: number): boolean {
  return handInUntil !== null && now <= handInUntil;
}

/**
 * DEVICE_REVOKED for a device revoked at `revokedAt` with deadline `handInUntil` (null: none),
 * saying whether and until when it may still hand in its archive records; `details` carry both
 * times for clients, `handInUntil` null when it was granted no window (not a window that closed
 * the moment it opened, which an earlier version sent and clients still read as none).
 */
export function revokedError(revokedAt: number, handInUntil: number | null, now: number): ServerError {
  const iso = (t: number) => new Date(t).toISOString();
  const tail =
    handInUntil === null
      ? 'it was revoked without an archive hand-in window: nothing is accepted from it'
      : now <= handInUntil
        ? `it may still upload the archive records it sealed before then (POST /v1/archive/batches) until ${iso(handInUntil)}`
        : `its archive hand-in window closed at ${iso(handInUntil)}: nothing more is accepted from it`;
  return new ServerError('DEVICE_REVOKED', `this device was revoked at ${iso(revokedAt)}; ${tail}`, {
    details: { revokedAt, handInUntil },
  });
}
