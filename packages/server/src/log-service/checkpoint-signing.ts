/**
 * Checkpoint signing: the last step of integration. One Ed25519 key per install signs
 * every organisation's checkpoints; in each log it appears under that log's origin as
 * key name (docs/signed-notes.md §4), so each org has its own verifier key string and a
 * checkpoint of one org can never pass as another's.
 */
import {
  computeKeyId,
  formatLogOrigin,
  formatVerifierKey,
  signCheckpoint,
  SIGNATURE_TYPE_ED25519,
  type KeyId,
  type NoteSigner,
} from '@custos/core';
import type { OrgId } from '../ids.js';

/** The install's log-signing key as the log service uses it (crypto/log-signing-key.ts provides one). */
export interface LogKey {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Ed25519 signature of `message`. MUST NOT expose the private key. */
  sign(message: Uint8Array): Uint8Array;
}

/** A core NoteSigner that signs with the install's key under one log's origin. */
class OriginSigner implements NoteSigner {
  readonly keyId: KeyId;
  readonly type = SIGNATURE_TYPE_ED25519;

  constructor(
    readonly name: string,
    private readonly key: LogKey,
  ) {
    this.keyId = computeKeyId(name, SIGNATURE_TYPE_ED25519, key.publicKey);
  }

  sign(text: Uint8Array): Uint8Array {
    return this.key.sign(text);
  }
}

/** The origin of an org's log on a deployment whose public host is `host`. */
export function logOriginFor(host: string, orgId: OrgId): string {
  return formatLogOrigin({ host: host.toLowerCase(), orgId });
}

/** The public host part of an origin URL such as `https://custos.example:8443`. */
export function hostOfUrl(url: string): string {
  const u = new URL(url);
  // An IPv6 literal cannot be a key name ([, ]); loopback test servers then use `localhost`.
  return u.hostname.startsWith('[') ? `localhost${u.port === '' ? '' : `:${u.port}`}` : u.host;
}

/** The verifier key string (`<origin>+<key id>+<base64>`) auditors configure for this log. */
export function logVerifierKey(origin: string, key: LogKey): string {
  return formatVerifierKey({
    name: origin,
    keyId: computeKeyId(origin, SIGNATURE_TYPE_ED25519, key.publicKey),
    type: SIGNATURE_TYPE_ED25519,
    publicKey: key.publicKey,
  });
}

/** Signs the checkpoint (origin, size, root) with the install key; returns the signed note. */
export function signLogCheckpoint(key: LogKey, origin: string, treeSize: number, root: Uint8Array): string {
  return signCheckpoint({ origin, treeSize, rootHash: root, extensions: [] }, new OriginSigner(origin, key));
}
