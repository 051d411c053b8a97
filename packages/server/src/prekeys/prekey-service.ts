/**
 * Prekey bundles and replenishment. A bundle hands out one one-time EC prekey and one Kyber
 * prekey per device, each consumed atomically in the store (never served twice); when the
 * one-time Kyber keys run out the last-resort Kyber key is served (and kept). Uploads are
 * checked against the uploading device's own identity key before anything is stored.
 */
import { parseEcPublicKey, checkKemPublicKey, verifySignature } from '../auth/key-checks.js';
import { MAX_STORED_PREKEYS } from '../config/messaging-defaults.js';
import { ServerError } from '../errors.js';
import { decodeBytes, encodeBytes } from '../http/schema-helpers.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { MessagingServices } from '../relay/messaging-services.js';
import type {
  DeviceRecord,
  KyberPreKey,
  OneTimePreKey,
  PrekeyCounts,
  SignedPreKey,
} from '../store/records.js';
import type { Stores } from '../store/stores.js';
import type { DeviceBundle, PrekeyStatus, PrekeyUpload } from './prekey-schemas.js';

/** A status from counts. */
export function prekeyStatus(c: PrekeyCounts, threshold: number): PrekeyStatus {
  return {
    oneTime: c.oneTime,
    kyber: c.kyber,
    signedPreKey: c.signed,
    lastResortKyberPreKey: c.lastResortKyber,
    threshold,
    low: c.oneTime < threshold || c.kyber < threshold,
  };
}

const signedOut = (k: SignedPreKey) => ({
  keyId: k.keyId,
  publicKey: encodeBytes(k.publicKey),
  signature: encodeBytes(k.signature),
});

/**
 * Claims a bundle for one device, or null when it has no signed prekey or no Kyber prekey
 * at all (a device that never completed registration). Tells the device, if it is
 * connected to this node, when its one-time keys run low.
 */
export async function claimBundle(
  stores: Stores,
  m: MessagingServices,
  device: DeviceRecord,
): Promise<DeviceBundle | null> {
  const { orgId, deviceId } = device;
  const signed = await stores.prekeyClaims.signedPreKey(orgId, deviceId);
  if (signed === undefined) return null;
  const kyber = await stores.prekeyClaims.takeKyberPreKey(orgId, deviceId);
  if (kyber === undefined) return null;
  const oneTime = await stores.prekeyClaims.takeOneTimePreKey(orgId, deviceId);
  if (m.hub.hasListeners(orgId, deviceId)) {
    const c = await stores.prekeys.counts(orgId, deviceId);
    if (prekeyStatus(c, m.settings.prekeyLowThreshold).low) m.hub.wake(orgId, deviceId, 'prekeys-low');
  }
  return {
    deviceId,
    deviceNumber: device.deviceNumber,
    registrationId: device.registrationId,
    identityKey: encodeBytes(device.identityKey),
    signedPreKey: signedOut(signed),
    oneTimePreKey:
      oneTime === undefined ? null : { keyId: oneTime.keyId, publicKey: encodeBytes(oneTime.publicKey) },
    kyberPreKey: signedOut(kyber),
  };
}

function uniqueKeyIds(field: string, keys: readonly { keyId: number }[]): void {
  if (new Set(keys.map((k) => k.keyId)).size !== keys.length)
    throw new ServerError('INVALID_REQUEST', `${field}: duplicate keyId`);
}

/** An upload decoded and checked against the device's identity key. */
export interface CheckedUpload {
  readonly signed: SignedPreKey | null;
  readonly lastResort: KyberPreKey | null;
  readonly kyber: readonly KyberPreKey[];
  readonly oneTime: readonly OneTimePreKey[];
}

/** Decodes an upload and verifies every signature and key; throws naming the first bad field. */
export function checkUpload(device: DeviceRecord, body: PrekeyUpload): CheckedUpload {
  const identity = parseEcPublicKey('device identity key', device.identityKey);
  const signedKey = (
    field: string,
    k: { keyId: number; publicKey: string; signature: string },
    ec: boolean,
  ) => {
    const publicKey = decodeBytes(`${field}.publicKey`, k.publicKey);
    const signature = decodeBytes(`${field}.signature`, k.signature, 64);
    if (ec) parseEcPublicKey(`${field}.publicKey`, publicKey);
    else checkKemPublicKey(`${field}.publicKey`, publicKey);
    verifySignature(identity, field, publicKey, signature);
    return { keyId: k.keyId, publicKey, signature };
  };
  const kyberIn = body.kyberPreKeys ?? [];
  const oneTimeIn = body.oneTimePreKeys ?? [];
  uniqueKeyIds('body.kyberPreKeys', [
    ...kyberIn,
    ...(body.lastResortKyberPreKey ? [body.lastResortKyberPreKey] : []),
  ]);
  uniqueKeyIds('body.oneTimePreKeys', oneTimeIn);
  return {
    signed: body.signedPreKey === undefined ? null : signedKey('body.signedPreKey', body.signedPreKey, true),
    lastResort:
      body.lastResortKyberPreKey === undefined
        ? null
        : { ...signedKey('body.lastResortKyberPreKey', body.lastResortKyberPreKey, false), lastResort: true },
    kyber: kyberIn.map((k, i) => ({ ...signedKey(`body.kyberPreKeys.${i}`, k, false), lastResort: false })),
    oneTime: oneTimeIn.map((k, i) => {
      const publicKey = decodeBytes(`body.oneTimePreKeys.${i}.publicKey`, k.publicKey, 33);
      parseEcPublicKey(`body.oneTimePreKeys.${i}.publicKey`, publicKey);
      return { keyId: k.keyId, publicKey };
    }),
  };
}

/** Stores a checked upload in one transaction; refuses (changing nothing) past MAX_STORED_PREKEYS. */
export async function storeUpload(
  stores: Stores,
  orgId: OrgId,
  deviceId: DeviceId,
  up: CheckedUpload,
): Promise<PrekeyCounts> {
  return stores.withTransaction(async (tx) => {
    const before = await tx.prekeys.counts(orgId, deviceId);
    if (
      before.oneTime + up.oneTime.length > MAX_STORED_PREKEYS ||
      before.kyber + up.kyber.length > MAX_STORED_PREKEYS
    ) {
      throw new ServerError(
        'INVALID_REQUEST',
        `a device holds at most ${MAX_STORED_PREKEYS} one-time prekeys of each kind`,
      );
    }
    if (up.signed !== null) await tx.prekeys.putSignedPreKey(orgId, deviceId, up.signed);
    if (up.lastResort !== null)
      await tx.prekeyClaims.replaceLastResortKyberPreKey(orgId, deviceId, up.lastResort);
    if (up.kyber.length > 0) await tx.prekeys.addKyberPreKeys(orgId, deviceId, up.kyber);
    if (up.oneTime.length > 0) await tx.prekeys.addOneTimePreKeys(orgId, deviceId, up.oneTime);
    return tx.prekeys.counts(orgId, deviceId);
  });
}
