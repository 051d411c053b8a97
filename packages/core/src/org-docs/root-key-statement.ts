/**
 * The root-archive-key statement (docs/keys.md §6.1): the org signing key names the org's
 * new root archive X25519 public key and the one it replaces. Payload exactly
 * `{ v: 1, typ: "root-archive-key", org, pk: bstr(32), prv: bstr(32), iat }` with pk ≠ prv,
 * signed under {@link ROOT_KEY_DOMAIN}. The server installs it only when prv is its current
 * root; officers adopt the newest one it serves.
 */
import { bytesEqual } from '../record/deterministic-cbor.js';
import {
  badField,
  isKey32,
  isUint,
  openTypedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';

/** Domain of root-archive-key statements. */
export const ROOT_KEY_DOMAIN = 'custos-root-archive-key-v1';
const TYP = 'root-archive-key';
const WHAT = 'root key statement';
const FIELDS = ['v', 'typ', 'org', 'pk', 'prv', 'iat'] as const;

/** A root-archive-key statement's content. */
export interface RootKeyStatement {
  readonly org: string;
  /** The new root archive public key (raw X25519). */
  readonly publicKey: Uint8Array;
  /** The root archive public key it replaces. */
  readonly previous: Uint8Array;
  readonly issuedAt: number;
}

function checkStatement(m: Readonly<Record<string, unknown>>): RootKeyStatement {
  if (typeof m.org !== 'string') badField(WHAT, 'org');
  if (!isUint(m.iat)) badField(WHAT, 'iat', 'must be a ms time');
  if (!isKey32(m.pk)) badField(WHAT, 'pk', 'must be a 32-byte X25519 public key');
  if (!isKey32(m.prv)) badField(WHAT, 'prv', 'must be a 32-byte X25519 public key');
  if (bytesEqual(m.pk, m.prv)) badField(WHAT, 'pk', 'must differ from prv');
  return { org: m.org, publicKey: m.pk, previous: m.prv, issuedAt: m.iat };
}

/** Signs a statement with the org signing key. */
export function sealRootKeyStatement(s: RootKeyStatement, orgSigningKey: OrgDocSigner): Uint8Array {
  const fields = { v: 1, typ: TYP, org: s.org, pk: s.publicKey, prv: s.previous, iat: s.issuedAt };
  checkStatement(fields);
  return sealSignedDocument(ROOT_KEY_DOMAIN, fields, orgSigningKey);
}

/** Verifies a statement with the raw org signing key and checks its shape; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openRootKeyStatement(bytes: Uint8Array, orgSigningPublicKey: Uint8Array): RootKeyStatement {
  const m = openTypedDocument(WHAT, bytes, ROOT_KEY_DOMAIN, orgSigningPublicKey, TYP, FIELDS);
  return checkStatement(m);
}
