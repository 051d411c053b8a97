/**
 * Store-level fixtures for tests and benches that need an org row and a log key but no real
 * key ceremony (the log, archive and search stores never check an org's keys).
 */
import { generateKeyPairSync, randomBytes, sign as edSign } from 'node:crypto';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import type { LogKey } from '../log-service/checkpoint-signing.js';
import type { Stores } from '../store/stores.js';

/** A throw-away Ed25519 log key. */
export function testLogKey(): LogKey {
  const key = generateKeyPairSync('ed25519');
  return {
    publicKey: Buffer.from(key.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url'),
    sign: (m: Uint8Array) => edSign(null, m, key.privateKey),
  };
}

/** Creates an org row named `name` with random stand-in key material; resolves to its id. */
export async function createTestOrgRow(stores: Stores, name: string): Promise<OrgId> {
  const orgId = newId<OrgId>();
  await stores.orgs.create({
    orgId,
    name,
    signingPublicKey: randomBytes(32),
    signingKeyFingerprint: 'fp',
    rootArchivePublicKey: randomBytes(32),
    keyManager: { delegation: randomBytes(8), notBefore: 0, notAfter: 1 },
    officerQuorum: 1,
    officers: [{ index: 0, publicKey: randomBytes(32) }],
    createdAt: 0,
  });
  return orgId;
}

/** Creates a member of `orgId` with `devices` devices (stand-in identity keys); resolves to their ids. */
export async function createTestMember(
  stores: Stores,
  orgId: OrgId,
  devices = 1,
): Promise<{ userId: UserId; deviceIds: DeviceId[] }> {
  const userId = newId<UserId>();
  await stores.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
  const deviceIds: DeviceId[] = [];
  for (let i = 0; i < devices; i++) {
    const deviceId = newId<DeviceId>();
    await stores.devices.create(orgId, {
      deviceId,
      userId,
      identityKey: randomBytes(33),
      registrationId: 1,
      createdAt: 1,
    });
    deviceIds.push(deviceId);
  }
  return { userId, deviceIds };
}
