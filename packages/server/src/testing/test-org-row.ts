/**
 * Store-level fixtures for tests and benches that need an org row and a log key but no real
 * key ceremony (the log, archive and search stores never check an org's keys).
 */
import { generateKeyPairSync, randomBytes, sign as edSign } from 'node:crypto';
import { newId, type OrgId } from '../ids.js';
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
