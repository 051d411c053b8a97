/**
 * The device's defence against key substitution (threat model: a malicious server): the
 * enrolment code carries the org signing key's fingerprint; the device pins it, checks the
 * org's signing key against it, the key-manager delegation against the signing key, and
 * every bucket key against the delegation — reading only the signed documents, never the
 * server's summary fields. A bucket key that fails any check is never used to seal.
 *
 * The document formats are core's (org-docs/, docs/keys.md §2): this module adds the pin and
 * the org check, and reports failures as KEY_MANAGER_INVALID or BUCKET_KEY_INVALID.
 */
import { createHash } from 'node:crypto';
import {
  BUCKET_RETENTION_CLASSES,
  checkBucketWithinDelegation,
  isCustosError,
  openBucketKeyDocument,
  openKeyManagerDelegation,
  type BucketRetentionClass,
} from '@custos/core';
import { ClientError } from '../errors.js';

/** Prefix of enrolment codes. */
export const ENROLMENT_CODE_PREFIX = 'ce1';
/** Retention classes a bucket may name (core's bucket-key document format). */
export const RETENTION_CLASSES = BUCKET_RETENTION_CLASSES;
/** One of {@link RETENTION_CLASSES}. */
export type RetentionClass = BucketRetentionClass;

const ID_RE = /^[A-Za-z0-9_-]{22}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

/** The parts of an enrolment code `ce1.<orgId>.<secret>.<fingerprint>`. */
export interface EnrolmentCode {
  readonly code: string;
  readonly orgId: string;
  /** base64url SHA-256 of the org signing public key: the device pins it. */
  readonly fingerprint: string;
}

/** Parses an enrolment code; ENROLMENT_CODE_MALFORMED names what is wrong (never echoing the secret). */
export function parseEnrolmentCode(code: string): EnrolmentCode {
  const parts = code.trim().split('.');
  const bad = (what: string) => new ClientError('ENROLMENT_CODE_MALFORMED', `enrolment code: ${what}`);
  if (parts.length !== 4 || parts[0] !== ENROLMENT_CODE_PREFIX)
    throw bad('expected ce1.<org>.<secret>.<fingerprint>');
  const [, orgId, secret, fingerprint] = parts as [string, string, string, string];
  if (!ID_RE.test(orgId)) throw bad('the organisation id is malformed');
  if (!SECRET_RE.test(secret)) throw bad('the secret is malformed');
  if (!SECRET_RE.test(fingerprint)) throw bad('the fingerprint is malformed');
  return { code: code.trim(), orgId, fingerprint };
}

/** The fingerprint of an org signing key: base64url SHA-256 of its 32 raw bytes. */
export function signingKeyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('base64url');
}

/** A verified key-manager delegation. */
export interface KeyManager {
  readonly key: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A verified bucket key. */
export interface VerifiedBucket {
  readonly bucketId: string;
  readonly org: string;
  readonly retentionClass: RetentionClass;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** X25519 public key the session keys are sealed to. */
  readonly publicKey: Uint8Array;
  /** The signed document, kept so the check can be repeated. */
  readonly document: Uint8Array;
}

/** Runs a core reader, turning its CustosError into ClientError `code` with the same words. */
function asClient<T>(code: 'KEY_MANAGER_INVALID' | 'BUCKET_KEY_INVALID', read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isCustosError(e)) throw new ClientError(code, e.message, { cause: e });
    throw e;
  }
}

/** Checks the org signing key against the pinned fingerprint; ORG_KEY_MISMATCH otherwise. */
export function checkPinnedOrgKey(signingPublicKey: Uint8Array, pinnedFingerprint: string): void {
  if (signingKeyFingerprint(signingPublicKey) !== pinnedFingerprint) {
    throw new ClientError(
      'ORG_KEY_MISMATCH',
      "the organisation's signing key does not match the fingerprint in the enrolment code (key substitution?)",
    );
  }
}

/** Verifies the key-manager delegation with the (pinned) org signing key (core org-docs). */
export function verifyDelegation(delegation: Uint8Array, orgSigningKey: Uint8Array): KeyManager {
  return asClient('KEY_MANAGER_INVALID', () => openKeyManagerDelegation(delegation, orgSigningKey));
}

/**
 * Verifies a bucket-key document with the key manager, for organisation `orgId`: its signature,
 * its fields, its organisation, and its window inside the delegation's.
 */
export function verifyBucketDocument(document: Uint8Array, km: KeyManager, orgId: string): VerifiedBucket {
  const doc = asClient('BUCKET_KEY_INVALID', () => {
    const d = openBucketKeyDocument(document, km.key);
    checkBucketWithinDelegation(d, km);
    return d;
  });
  if (doc.org !== orgId)
    throw new ClientError('BUCKET_KEY_INVALID', 'bucket-key document: names another organisation');
  return {
    bucketId: doc.bucket,
    org: doc.org,
    retentionClass: doc.retentionClass,
    period: doc.period,
    notBefore: doc.notBefore,
    notAfter: doc.notAfter,
    publicKey: doc.publicKey,
    document,
  };
}
