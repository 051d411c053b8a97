/**
 * An officer's own keys (docs/ceremony.md §3): an X25519 key that bucket private keys are
 * wrapped to, an Ed25519 key that signs the officer's acts, and a copy of the key-manager
 * Ed25519 key (the online delegate that signs routine key material, so it needs no quorum).
 * They live in the officer key file, protected by the officer's passphrase
 * (passphrase-box.ts). The server sees only the public key document:
 *
 *   officer public key = deterministic CBOR { v: 1, typ: "officer-key", hpke: bstr(32), sig: bstr(32) }
 */
import {
  BucketPrivateKey,
  type BucketPublicKey,
  CustosError,
  decodeStrictCbor,
  encodeDeterministicCbor,
  generateBucketKeyPair,
  type KdfPolicy,
} from '@custos/core';
import { x25519PublicKeyOf } from './hpke-box.js';
import { openWithPassphrase, sealWithPassphrase, type PassphraseBoxOptions } from './passphrase-box.js';
import { SigningKey } from './signing-key.js';

/** The `format` of officer key files. */
export const OFFICER_KEY_FILE_FORMAT = 'custos-officer-keys';

/** An officer's key pairs, behind handles. */
export interface OfficerKeys {
  /** The server's 0-based officer index (the officer holds share index + 1). */
  readonly index: number;
  readonly hpkePublicKey: BucketPublicKey;
  readonly hpkePrivateKey: BucketPrivateKey;
  readonly signingKey: SigningKey;
  readonly keyManager: SigningKey;
}

/** The public halves an officer registers. */
export interface OfficerPublicKey {
  /** Raw X25519 key that wraps are sealed to. */
  readonly hpke: Uint8Array;
  /** Raw Ed25519 key of the officer's signatures. */
  readonly signing: Uint8Array;
}

/** Generates officer `index`'s key pairs; `keyManager` is the org's key-manager key. */
export async function generateOfficerKeys(index: number, keyManager: SigningKey): Promise<OfficerKeys> {
  const pair = await generateBucketKeyPair();
  return {
    index,
    hpkePublicKey: pair.publicKey,
    hpkePrivateKey: pair.privateKey,
    signingKey: SigningKey.generate(),
    keyManager,
  };
}

/** The officer public key document registered with the server. */
export function encodeOfficerPublicKey(keys: OfficerKeys): Uint8Array {
  return encodeDeterministicCbor({
    v: 1,
    typ: 'officer-key',
    hpke: keys.hpkePublicKey.toBytes(),
    sig: keys.signingKey.publicKey,
  });
}

/** Parses an officer public key document; MALFORMED_INPUT naming what is wrong. */
export function decodeOfficerPublicKey(bytes: Uint8Array): OfficerPublicKey {
  const m = decodeStrictCbor(bytes, 'officer public key', 'MALFORMED_INPUT') as Record<string, unknown>;
  const ok =
    typeof m === 'object' &&
    m !== null &&
    Object.keys(m).sort().join() === 'hpke,sig,typ,v' &&
    m.v === 1 &&
    m.typ === 'officer-key' &&
    m.hpke instanceof Uint8Array &&
    m.hpke.length === 32 &&
    m.sig instanceof Uint8Array &&
    m.sig.length === 32;
  if (!ok)
    throw new CustosError('MALFORMED_INPUT', 'officer public key: not a v1 { v, typ, hpke, sig } document');
  return { hpke: m.hpke as Uint8Array, signing: m.sig as Uint8Array };
}

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64');

/** Encrypts the officer's private keys under their passphrase; returns the file text. */
export async function sealOfficerKeyFile(
  keys: OfficerKeys,
  ceremonyId: string,
  passphrase: string,
  options: PassphraseBoxOptions = {},
): Promise<string> {
  const hpke = await keys.hpkePrivateKey.exportBytes();
  const sig = keys.signingKey.exportSeed();
  const km = keys.keyManager.exportSeed();
  const pt = encodeDeterministicCbor({ hpke, sig, km });
  try {
    return await sealWithPassphrase(
      OFFICER_KEY_FILE_FORMAT,
      {
        ceremonyId,
        officerIndex: keys.index,
        hpkePublicKey: b64(keys.hpkePublicKey.toBytes()),
        signingPublicKey: b64(keys.signingKey.publicKey),
        keyManagerPublicKey: b64(keys.keyManager.publicKey),
      },
      pt,
      passphrase,
      options,
    );
  } finally {
    for (const b of [hpke, sig, km, pt]) b.fill(0);
  }
}

/**
 * Opens an officer key file with its passphrase and checks that each private key matches the
 * public key the file names. WRONG_PASSPHRASE, DECRYPTION_FAILED, MALFORMED_INPUT.
 */
export async function openOfficerKeyFile(
  text: string,
  passphrase: string,
  policy: KdfPolicy = {},
): Promise<OfficerKeys & { ceremonyId: string }> {
  const opened = await openWithPassphrase(OFFICER_KEY_FILE_FORMAT, text, passphrase, policy);
  const f = opened.fields;
  try {
    const m = decodeStrictCbor(opened.plaintext, 'officer keys', 'MALFORMED_INPUT') as Record<
      string,
      unknown
    >;
    const { hpke, sig, km } = m;
    if (!(hpke instanceof Uint8Array) || !(sig instanceof Uint8Array) || !(km instanceof Uint8Array)) {
      throw new CustosError('MALFORMED_INPUT', 'officer key file: plaintext must be { hpke, sig, km }');
    }
    if (typeof f.ceremonyId !== 'string' || typeof f.officerIndex !== 'number') {
      throw new CustosError('MALFORMED_INPUT', 'officer key file: ceremonyId and officerIndex are required');
    }
    const hpkePrivateKey = await BucketPrivateKey.fromBytes(hpke);
    const signingKey = SigningKey.fromSeed(sig);
    const keyManager = SigningKey.fromSeed(km);
    const hpkePublicKey = await x25519PublicKeyOf(hpke);
    if (
      b64(hpkePublicKey.toBytes()) !== f.hpkePublicKey ||
      b64(signingKey.publicKey) !== f.signingPublicKey ||
      b64(keyManager.publicKey) !== f.keyManagerPublicKey
    ) {
      throw new CustosError(
        'MALFORMED_INPUT',
        'officer key file: a private key does not match its public key',
      );
    }
    return {
      ceremonyId: f.ceremonyId,
      index: f.officerIndex,
      hpkePublicKey,
      hpkePrivateKey,
      signingKey,
      keyManager,
    };
  } finally {
    opened.plaintext.fill(0);
  }
}
