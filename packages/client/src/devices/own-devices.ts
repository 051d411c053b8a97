/**
 * The user's own devices (docs/api.md, "GET /v1/devices"): list them, issue a link code so
 * a new device joins this user, revoke a lost one. A link code is enrolled exactly like an
 * admin's enrolment code (CustosClient.enrol), so the new device pins the same org key.
 */
import { ClientError } from '../errors.js';
import { parseEnrolmentCode } from '../enrol/org-keys.js';
import { deviceRevocation, type DeviceRevocation } from './device-revocation.js';
import type { DeviceProfile } from '../profile.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bool, bytes, int, obj, str, type Json } from '../transport/response-checks.js';

/** Libsignal identity public keys are 33 bytes. */
const IDENTITY_KEY_BYTES = 33;

/** A one-time, short-lived code that enrols one more device of this user. MUST NOT be logged. */
export interface LinkCode {
  readonly code: string;
  /** ms since the Unix epoch. */
  readonly expiresAt: number;
}

/** One device of this user, as the server lists it. */
export interface OwnDevice {
  readonly deviceId: string;
  readonly deviceNumber: number;
  /** Public libsignal identity key (33 bytes): compare it with what the device itself shows. */
  readonly identityKey: Uint8Array;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  /** True for the device that asked. */
  readonly current: boolean;
}

/**
 * Asks the server for a link code and checks that it names this device's org and pinned
 * org-key fingerprint: a server that put another fingerprint in the code would make the new
 * device pin a key of its choosing (ORG_KEY_MISMATCH).
 */
export async function requestLinkCode(
  api: ApiClient,
  profile: DeviceProfile,
  opts: { readonly ttlSeconds?: number } = {},
): Promise<LinkCode> {
  const body = opts.ttlSeconds === undefined ? {} : { ttlSeconds: opts.ttlSeconds };
  const r = obj(await api.request('POST', '/v1/devices/link-codes', { body }), 'link code');
  const code = parseEnrolmentCode(str(r, 'code'));
  if (code.orgId !== profile.orgId || code.fingerprint !== profile.pinnedFingerprint) {
    throw new ClientError(
      'ORG_KEY_MISMATCH',
      'the server issued a link code for another organisation key than the one this device pinned',
    );
  }
  return { code: code.code, expiresAt: int(r, 'expiresAt') };
}

function ownDevice(v: unknown): OwnDevice {
  const d: Json = obj(v, 'devices[]');
  const revokedAt = d.revokedAt === null ? null : int(d, 'revokedAt');
  return {
    deviceId: str(d, 'deviceId'),
    deviceNumber: int(d, 'deviceNumber'),
    identityKey: bytes(d, 'identityKey', IDENTITY_KEY_BYTES),
    createdAt: int(d, 'createdAt'),
    revokedAt,
    current: bool(d, 'current'),
  };
}

/** This user's devices, revoked ones included, by device number. */
export async function listOwnDevices(api: ApiClient): Promise<OwnDevice[]> {
  const r = obj(await api.request('GET', '/v1/devices'), 'devices');
  return arr(r, 'devices').map(ownDevice);
}

/**
 * Revokes another device of this user. With `allowHandIn` it may still hand in the archive
 * records it sealed before, for the server's hand-in window: only for a device its user holds,
 * with records queued. By default it is locked out at once, as a lost or stolen device must be
 * (docs/threat-model.md, "Revoked devices and their archive queue").
 */
export async function revokeOwnDevice(
  api: ApiClient,
  deviceId: string,
  o: { readonly allowHandIn?: boolean } = {},
): Promise<DeviceRevocation> {
  // Encoded, so a malformed id reaches the server as one path segment and is refused there.
  const path = `/v1/devices/${encodeURIComponent(deviceId)}/revoke${o.allowHandIn === true ? '?allowHandIn=true' : ''}`;
  const r = obj(await api.request('POST', path), 'revocation');
  if (str(r, 'deviceId') !== deviceId)
    throw new ClientError('SERVER_RESPONSE_INVALID', 'revoke: another device was named');
  return deviceRevocation(r);
}

/**
 * Revokes the calling device itself (its user retires it), naming the run of archive records
 * it could not upload first, if any; resolves to when the server revoked it.
 */
export async function retireThisDevice(
  api: ApiClient,
  deviceId: string,
  stranded: { readonly firstSeq: number; readonly lastSeq: number } | undefined,
): Promise<{ revokedAt: number }> {
  const body =
    stranded === undefined ? {} : { stranded: { firstSeq: stranded.firstSeq, lastSeq: stranded.lastSeq } };
  const r = obj(await api.request('POST', '/v1/devices/retire', { body }), 'retirement');
  if (str(r, 'deviceId') !== deviceId)
    throw new ClientError('SERVER_RESPONSE_INVALID', 'retire: another device was named');
  return { revokedAt: int(r, 'revokedAt') };
}
