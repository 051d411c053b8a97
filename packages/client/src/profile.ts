/**
 * What a device knows about itself after enrolment, kept in the encrypted store's
 * `profile` table: server, org (with the pinned signing-key fingerprint and the verified
 * key-manager delegation), user, device, retention class and the pinned log key.
 */
import { ClientError } from './errors.js';
import type { RetentionClass } from './enrol/org-keys.js';
import type { LocalStore } from './store/local-store.js';

const PROFILE_KEY = 'device-profile';

/** The device's enrolment facts. */
export interface DeviceProfile {
  readonly serverUrl: string;
  readonly orgId: string;
  readonly orgName: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly deviceNumber: number;
  /** base64url SHA-256 of the org signing key, from the enrolment code (pinned). */
  readonly pinnedFingerprint: string;
  readonly orgSigningKey: Uint8Array;
  readonly keyManager: { readonly key: Uint8Array; readonly notBefore: number; readonly notAfter: number };
  /**
   * Key-manager delegations this device verified before a rotation replaced them, each with the
   * start of its successor (docs/client.md §4): buckets signed under one stay valid only when
   * they start before that time. Absent until the first rotation.
   */
  readonly previousKeyManagers?: readonly SupersededKeyManager[];
  /** Retention class whose buckets this device seals to. */
  readonly retentionClass: RetentionClass;
  /** Archive capture is required by the organisation: it cannot be switched off. */
  readonly captureRequired: boolean;
  readonly enrolledAt: number;
}

/** A key-manager delegation a rotation superseded at `supersededAt` (the new delegation's start). */
export interface SupersededKeyManager {
  readonly key: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly supersededAt: number;
}

/** The pinned log identity (trust on first use at enrolment). */
export interface PinnedLog {
  readonly origin: string;
  readonly verifierKey: string;
}

/** Reads the profile; NOT_ENROLLED when absent. */
export function loadProfile(store: LocalStore): DeviceProfile {
  const p = store.getJson<DeviceProfile>('profile', PROFILE_KEY);
  if (p === undefined) throw new ClientError('NOT_ENROLLED', 'this profile has not finished enrolment');
  return p;
}

/** Writes the profile. */
export function saveProfile(store: LocalStore, p: DeviceProfile): void {
  store.putJson('profile', PROFILE_KEY, p);
}

/** The pinned log, if any. */
export function loadPinnedLog(store: LocalStore): PinnedLog | undefined {
  return store.getJson<PinnedLog>('profile', 'pinned-log');
}

/** Pins the log identity. */
export function savePinnedLog(store: LocalStore, log: PinnedLog): void {
  store.putJson('profile', 'pinned-log', log);
}
