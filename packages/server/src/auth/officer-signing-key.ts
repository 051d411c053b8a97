/**
 * An officer's signing key as the server knows it: the `sig` key of the officer public key
 * document registered at the ceremony or by a later officer list (docs/ceremony.md §3). Every
 * officer-signed input the server accepts — device bindings, disposition approvals, finding
 * acknowledgements — is checked against this key, through these two functions.
 */
import { createPublicKey, verify } from 'node:crypto';
import { decodeStrictCbor } from '@custos/core';
import { ServerError } from '../errors.js';
import type { OrgRecord } from '../store/records.js';

/** Length of a raw Ed25519 public key. */
const KEY_BYTES = 32;
/** Length of an Ed25519 signature. */
const SIGNATURE_BYTES = 64;

/** The officer's raw Ed25519 signing key from their registered public key document, or null. */
export function officerSigningKey(org: OrgRecord, officerIndex: number): Uint8Array | null {
  const officer = org.officers.find((o) => o.index === officerIndex);
  if (officer === undefined) return null;
  try {
    const doc = decodeStrictCbor(officer.publicKey, 'officer public key', 'MALFORMED_INPUT') as Record<
      string,
      unknown
    >;
    return doc.typ === 'officer-key' && doc.sig instanceof Uint8Array && doc.sig.length === KEY_BYTES
      ? doc.sig
      : null;
  } catch {
    return null;
  }
}

/**
 * Whether `signature` is an Ed25519 signature of `message` by the raw officer signing key
 * `key` ({@link officerSigningKey}); false for a signature of the wrong length or a key that
 * does not parse.
 */
export function officerSignatureVerifies(
  key: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    const pub = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key).toString('base64url') },
      format: 'jwk',
    });
    return verify(null, message, pub, signature);
  } catch {
    return false;
  }
}

/**
 * Refuses (INVALID_KEY, naming the field) an officer-signed statement — a finding
 * acknowledgement, a hold release — whose officer has no registered signing key or whose
 * signature of `message` does not verify with it. Call under the officer-list lock, with the
 * org read in that transaction.
 */
export function requireOfficerStatementSignature(
  org: OrgRecord,
  officerIndex: number,
  message: Uint8Array,
  signature: Uint8Array,
): void {
  const key = officerSigningKey(org, officerIndex);
  if (key === null)
    throw new ServerError(
      'INVALID_KEY',
      `body.statement: officer ${officerIndex} has no registered officer signing key`,
    );
  if (!officerSignatureVerifies(key, message, signature))
    throw new ServerError(
      'INVALID_KEY',
      `body.signature: does not verify as officer ${officerIndex}'s signature of the statement`,
    );
}
