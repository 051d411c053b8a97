/**
 * The fan-out rule (architecture.md §4): a message must carry exactly one envelope for each
 * current device of the recipient user — and, when a user writes to itself (sync copies),
 * for each of its other devices. Anything else is a mismatch that the sender repairs by
 * fetching bundles for the missing devices and dropping sessions with the stale ones.
 */
import type { DeviceId } from '../ids.js';
import type { DeviceState } from '../store/messaging-records.js';

/** The device ids a message should have addressed but did not, and those it should not have. */
export interface DeviceMismatch {
  /** Current devices with no envelope. */
  readonly missing: DeviceId[];
  /** Addressed devices that are revoked, unknown, of another user, or the sending device itself. */
  readonly stale: DeviceId[];
}

/**
 * Compares the addressed device ids with the recipient user's devices. `sender` is the
 * sending device when the recipient is the sender's own user (it must not address itself).
 */
export function checkAddressing(
  recipientDevices: readonly DeviceState[],
  addressed: readonly DeviceId[],
  sender: DeviceId | null,
): DeviceMismatch {
  const current = new Set<DeviceId>();
  for (const d of recipientDevices) {
    if (d.revokedAt === null && d.deviceId !== sender) current.add(d.deviceId);
  }
  const given = new Set(addressed);
  const missing = [...current].filter((d) => !given.has(d)).sort();
  const stale = [...given].filter((d) => !current.has(d)).sort();
  return { missing, stale };
}

/**
 * True when `addressed` (ids without repeats) names exactly the recipient's current devices
 * (not revoked, not `sender`) — what `checkAddressing` finds exact, without building sets
 * or lists: the relay asks this of every message, and a message addresses a few devices.
 */
export function addressesExactly(
  recipientDevices: readonly DeviceState[],
  addressed: readonly { readonly deviceId: string }[],
  sender: DeviceId | null,
): boolean {
  let current = 0;
  for (const d of recipientDevices) {
    if (d.revokedAt !== null || d.deviceId === sender) continue;
    current++;
    let found = false;
    for (const a of addressed) {
      if (a.deviceId === d.deviceId) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  // Every current device is addressed; with no repeats, equal counts leave nothing stale.
  return current === addressed.length;
}

/** True when nothing is missing or stale. */
export function isExact(m: DeviceMismatch): boolean {
  return m.missing.length === 0 && m.stale.length === 0;
}
