/**
 * Bucket-key documents (docs/keys.md §1–2): the key-manager key names one bucket's X25519
 * public key, its organisation, retention class, period and validity window. Payload exactly
 * `{ v: 1, typ: "bucket-key", org, bkt, cls, per, nbf, naf, pk: bstr(32) }`, signed under
 * {@link BUCKET_KEY_DOMAIN}. A document is valid only inside the window of the delegation
 * whose key signed it ({@link checkBucketWithinDelegation}).
 */
import { CustosError } from '../errors.js';
import { isWellFormedId } from '../record/ids.js';
import { checkValidityWindow, openKeyManagerDelegation } from './key-manager-delegation.js';
import type { KeyManagerDelegation } from './key-manager-delegation.js';
import {
  badField,
  isKey32,
  openTypedDocument,
  sealSignedDocument,
  type OrgDocSigner,
} from './signed-document.js';

/** Domain of bucket-key document signatures. */
export const BUCKET_KEY_DOMAIN = 'custos-bucket-key-v1';
/** Retention classes a bucket may name. */
export const BUCKET_RETENTION_CLASSES = ['transitory', 'standard', 'permanent'] as const;
/** One of {@link BUCKET_RETENTION_CLASSES}. */
export type BucketRetentionClass = (typeof BUCKET_RETENTION_CLASSES)[number];
/**
 * Records sealed to a bucket are still accepted this long after its window ends, for devices
 * that were offline at the period boundary (docs/keys.md). So until `notAfter` + this grace a
 * bucket takes records, and no disposition may destroy its keys: the server refuses to
 * (BUCKET_STILL_ACCEPTING), and a device does not believe a server that says it did.
 */
export const BUCKET_LATE_UPLOAD_GRACE_MS = 7 * 24 * 60 * 60 * 1000;
/** A period label: 1–32 of `A–Z a–z 0–9 . _ -` (e.g. `2026`, `2026-Q1`, `2026-03`). */
export const BUCKET_PERIOD_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
const TYP = 'bucket-key';
const WHAT = 'bucket-key document';
const FIELDS = ['v', 'typ', 'org', 'bkt', 'cls', 'per', 'nbf', 'naf', 'pk'] as const;

/** A bucket-key document: one bucket's X25519 public key, class, period and window. */
export interface BucketKeyDocument {
  readonly org: string;
  readonly bucket: string;
  readonly retentionClass: BucketRetentionClass;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Raw 32-byte X25519 bucket public key. */
  readonly publicKey: Uint8Array;
}

const isClass = (v: unknown): v is BucketRetentionClass =>
  (BUCKET_RETENTION_CLASSES as readonly unknown[]).includes(v);

function checkFields(m: Readonly<Record<string, unknown>>): void {
  if (!isWellFormedId(m.org)) badField(WHAT, 'org');
  if (!isWellFormedId(m.bkt)) badField(WHAT, 'bkt');
  if (!isClass(m.cls)) badField(WHAT, 'cls', `must be one of ${BUCKET_RETENTION_CLASSES.join(', ')}`);
  if (typeof m.per !== 'string' || !BUCKET_PERIOD_PATTERN.test(m.per)) badField(WHAT, 'per');
  if (!isKey32(m.pk)) badField(WHAT, 'pk', 'must be 32 bytes');
  checkValidityWindow(WHAT, m.nbf, m.naf);
}

/** Encodes and signs a bucket-key document with the key-manager key. */
export function sealBucketKeyDocument(doc: BucketKeyDocument, keyManager: OrgDocSigner): Uint8Array {
  const fields = {
    v: 1,
    typ: TYP,
    org: doc.org,
    bkt: doc.bucket,
    cls: doc.retentionClass,
    per: doc.period,
    nbf: doc.notBefore,
    naf: doc.notAfter,
    pk: doc.publicKey,
  };
  checkFields(fields);
  return sealSignedDocument(BUCKET_KEY_DOMAIN, fields, keyManager);
}

/** Verifies a bucket-key document with the raw key-manager public key; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openBucketKeyDocument(bytes: Uint8Array, keyManagerPublicKey: Uint8Array): BucketKeyDocument {
  const m = openTypedDocument(WHAT, bytes, BUCKET_KEY_DOMAIN, keyManagerPublicKey, TYP, FIELDS);
  checkFields(m);
  return {
    org: m.org as string,
    bucket: m.bkt as string,
    retentionClass: m.cls as BucketRetentionClass,
    period: m.per as string,
    notBefore: m.nbf as number,
    notAfter: m.naf as number,
    publicKey: m.pk as Uint8Array,
  };
}

/** Throws SIGNATURE_INVALID when the document's window leaves the delegation's. */
export function checkBucketWithinDelegation(doc: BucketKeyDocument, delegation: KeyManagerDelegation): void {
  if (doc.notBefore < delegation.notBefore || doc.notAfter > delegation.notAfter) {
    throw new CustosError('SIGNATURE_INVALID', `${WHAT}: window exceeds the key manager's delegation`);
  }
}

/**
 * Checks a bucket document against the org's signature chain: the delegation verifies with
 * the pinned org signing key, the document with the delegated key, and the document's window
 * lies inside the delegation's. Returns the verified document.
 */
export function verifyBucketKeyChain(
  document: Uint8Array,
  delegation: Uint8Array,
  orgSigningPublicKey: Uint8Array,
): BucketKeyDocument {
  const d = openKeyManagerDelegation(delegation, orgSigningPublicKey);
  const doc = openBucketKeyDocument(document, d.key);
  checkBucketWithinDelegation(doc, d);
  return doc;
}
