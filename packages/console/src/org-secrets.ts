/**
 * The org's offline secrets (docs/key-shares.md §4, docs/ceremony.md §2): the org signing key
 * (Ed25519; the root of trust for signatures — it signs the key-manager delegation), the
 * root archive key (X25519, the HPKE suite of core/seal; every bucket private key is wrapped
 * to it) and the org index secret (blind index). Plus the key-manager key, which is not split
 * but copied into every officer key file.
 *
 * While a ceremony runs, these secrets sit in the staging folder HPKE-sealed to every
 * officer's key (the "pending" file), so an interrupted ceremony can resume with any one
 * officer's passphrase; the file is wiped when the ceremony finishes.
 */
import type { BucketPublicKey } from '@custos/core';
import {
  BucketPrivateKey,
  CustosError,
  decodeStrictCbor,
  encodeDeterministicCbor,
  generateBucketKeyPair,
  generateIndexSecret,
} from '@custos/core';
import { hpkeOpen, hpkeSeal, x25519PublicKeyOf } from './hpke-box.js';
import type { OfficerKeys } from './officer-keys.js';
import { SigningKey } from './signing-key.js';

const PENDING_FORMAT = 'custos-ceremony-pending';
const PENDING_INFO = 'custos-ceremony-pending-v1';

/** The org secrets, behind handles (the index secret is raw bytes, as core's blind index takes it). */
export interface OrgSecrets {
  readonly signingKey: SigningKey;
  readonly rootArchivePublicKey: BucketPublicKey;
  readonly rootArchivePrivateKey: BucketPrivateKey;
  /** 32 bytes. MUST NOT be logged or stored in the clear. */
  readonly indexSecret: Uint8Array;
  readonly keyManager: SigningKey;
}

/** Fresh org secrets from the platform CSPRNG. */
export async function generateOrgSecrets(): Promise<OrgSecrets> {
  const root = await generateBucketKeyPair();
  return {
    signingKey: SigningKey.generate(),
    rootArchivePublicKey: root.publicKey,
    rootArchivePrivateKey: root.privateKey,
    indexSecret: generateIndexSecret(),
    keyManager: SigningKey.generate(),
  };
}

/** Seals the secrets to every officer for the staging folder; returns the file text. */
export async function sealPendingSecrets(
  secrets: OrgSecrets,
  ceremonyId: string,
  officers: readonly OfficerKeys[],
): Promise<string> {
  const root = await secrets.rootArchivePrivateKey.exportBytes();
  const sign = secrets.signingKey.exportSeed();
  const km = secrets.keyManager.exportSeed();
  const pt = encodeDeterministicCbor({ sign, root, index: secrets.indexSecret, km });
  const aad = new TextEncoder().encode(ceremonyId);
  try {
    const boxes = [];
    for (const o of officers) {
      const box = await hpkeSeal(o.hpkePublicKey, PENDING_INFO, aad, pt);
      boxes.push({
        officer: o.index,
        enc: Buffer.from(box.enc).toString('base64'),
        ct: Buffer.from(box.ct).toString('base64'),
      });
    }
    return `${JSON.stringify({ format: PENDING_FORMAT, version: 1, ceremonyId, boxes }, null, 2)}\n`;
  } finally {
    for (const b of [root, sign, km, pt]) b.fill(0);
  }
}

/** Opens the pending file with one officer's keys; DECRYPTION_FAILED or MALFORMED_INPUT. */
export async function openPendingSecrets(
  text: string,
  ceremonyId: string,
  officer: OfficerKeys,
): Promise<OrgSecrets> {
  let f: { format?: unknown; ceremonyId?: unknown; boxes?: unknown };
  try {
    f = JSON.parse(text) as typeof f;
  } catch (e) {
    throw new CustosError('MALFORMED_INPUT', 'ceremony pending file is not JSON', { cause: e });
  }
  if (f.format !== PENDING_FORMAT || f.ceremonyId !== ceremonyId || !Array.isArray(f.boxes)) {
    throw new CustosError('MALFORMED_INPUT', 'ceremony pending file does not belong to this ceremony');
  }
  const box = (f.boxes as { officer?: unknown; enc?: unknown; ct?: unknown }[]).find(
    (b) => b.officer === officer.index,
  );
  if (box === undefined || typeof box.enc !== 'string' || typeof box.ct !== 'string') {
    throw new CustosError(
      'MALFORMED_INPUT',
      `ceremony pending file has no copy for officer ${officer.index + 1}`,
    );
  }
  const pt = await hpkeOpen(officer.hpkePrivateKey, PENDING_INFO, new TextEncoder().encode(ceremonyId), {
    enc: new Uint8Array(Buffer.from(box.enc, 'base64')),
    ct: new Uint8Array(Buffer.from(box.ct, 'base64')),
  });
  try {
    const m = decodeStrictCbor(pt, 'ceremony secrets', 'MALFORMED_INPUT') as Record<string, Uint8Array>;
    const rootArchivePrivateKey = await BucketPrivateKey.fromBytes(m.root!);
    return {
      signingKey: SigningKey.fromSeed(m.sign!),
      rootArchivePrivateKey,
      rootArchivePublicKey: await x25519PublicKeyOf(m.root!),
      indexSecret: Uint8Array.from(m.index!),
      keyManager: SigningKey.fromSeed(m.km!),
    };
  } finally {
    pt.fill(0);
  }
}
