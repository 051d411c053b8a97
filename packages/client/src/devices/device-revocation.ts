/**
 * What a server answers when a device is revoked, by its user from another of their devices
 * (`POST /v1/devices/:id/revoke`) or by an admin (`POST /v1/orgs/:org/devices/:id/revoke`):
 * when, and until when the revoked device may still hand in the archive records it sealed
 * before (docs/threat-model.md, "Revoked devices and their archive queue").
 */
import { int, type Json } from '../transport/response-checks.js';

/** What revoking a device did, as the server answered it. */
export interface DeviceRevocation {
  /** When the server revoked it (ms). */
  readonly revokedAt: number;
  /**
   * The end of its archive hand-in window (ms); null when it has none (locked out at once);
   * undefined when the server did not say: a server older than the field grants a window by
   * default when a user revokes another of their devices, and does not send it.
   */
  readonly handInUntil: number | null | undefined;
}

/**
 * The times of a revocation answer. A missing `handInUntil` is undefined, "not said", never
 * null, "none": a user revoking a stolen phone must not be told it is locked out when an older
 * server let it hand in (upload in their name) for its whole window.
 */
export function deviceRevocation(r: Json): DeviceRevocation {
  return {
    revokedAt: int(r, 'revokedAt'),
    handInUntil:
      r.handInUntil === undefined ? undefined : r.handInUntil === null ? null : int(r, 'handInUntil'),
  };
}
