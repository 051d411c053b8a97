/**
 * The key-manager delegation (docs/keys.md §1–2): the org signing key names the Ed25519
 * key-manager key that may sign bucket-key documents, and the window in which it may.
 * Payload exactly `{ v: 1, typ: "key-manager", key: bstr(32), nbf, naf }`, signed under
 * {@link KEY_MANAGER_DELEGATION_DOMAIN}; times are ms since the epoch, inclusive, nbf < naf.
 */
import { CustosError } from '../errors.js';
import {
  badField,
  isKey32,
  isUint,
  openTypedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';

/** Domain of key-manager delegation signatures. */
export const KEY_MANAGER_DELEGATION_DOMAIN = 'custos-key-manager-delegation-v1';
/** The payload's `typ`. */
const TYP = 'key-manager';
const WHAT = 'key-manager delegation';
const FIELDS = ['v', 'typ', 'key', 'nbf', 'naf'] as const;

/** A key-manager delegation: which key may sign bucket keys, and when. */
export interface KeyManagerDelegation {
  /** Raw 32-byte Ed25519 key-manager public key. */
  readonly key: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Throws MALFORMED_INPUT unless nbf and naf are ms times with nbf < naf. */
export function checkValidityWindow(what: string, notBefore: unknown, notAfter: unknown): void {
  if (!isUint(notBefore)) badField(what, 'nbf', 'must be a ms time');
  if (!isUint(notAfter)) badField(what, 'naf', 'must be a ms time');
  if (notBefore >= notAfter) throw new CustosError('MALFORMED_INPUT', `${what}: nbf must be before naf`);
}

/** Encodes and signs a delegation with the org signing key. */
export function sealKeyManagerDelegation(d: KeyManagerDelegation, orgSigningKey: OrgDocSigner): Uint8Array {
  if (!isKey32(d.key)) badField(WHAT, 'key', 'must be 32 bytes');
  checkValidityWindow(WHAT, d.notBefore, d.notAfter);
  return sealSignedDocument(
    KEY_MANAGER_DELEGATION_DOMAIN,
    { v: 1, typ: TYP, key: d.key, nbf: d.notBefore, naf: d.notAfter },
    orgSigningKey,
  );
}

/** Verifies a delegation with the raw org signing public key; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openKeyManagerDelegation(
  bytes: Uint8Array,
  orgSigningPublicKey: Uint8Array,
): KeyManagerDelegation {
  const m = openTypedDocument(WHAT, bytes, KEY_MANAGER_DELEGATION_DOMAIN, orgSigningPublicKey, TYP, FIELDS);
  if (!isKey32(m.key)) badField(WHAT, 'key', 'must be 32 bytes');
  checkValidityWindow(WHAT, m.nbf, m.naf);
  return { key: m.key, notBefore: m.nbf as number, notAfter: m.naf as number };
}
