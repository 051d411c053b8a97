/**
 * The device's defence against key substitution (threat model: a malicious server): the
 * enrolment code carries the org signing key's fingerprint; the device pins it, checks the
 * org's signing key against it, the key-manager delegation against the signing key, and
 * every bucket key against the delegation — reading only the signed documents, never the
 * server's summary fields. A bucket key that fails any check is never used to seal.
 *
 * Document formats (server keys/key-documents.ts, docs/keys.md): `CBOR [payload, sig]`,
 * payload deterministic CBOR, sig = Ed25519 over domain ‖ 0x00 ‖ payload.
 */
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { decodeStrictCbor, isWellFormedId } from '@custos/core';
import { ClientError } from '../errors.js';

/** Prefix of enrolment codes. */
export const ENROLMENT_CODE_PREFIX = 'ce1';
/** Domain of key-manager delegation signatures. */
export const DELEGATION_DOMAIN = 'custos-key-manager-delegation-v1';
/** Domain of bucket-key document signatures. */
export const BUCKET_KEY_DOMAIN = 'custos-bucket-key-v1';
/** Retention classes a bucket may name. */
export const RETENTION_CLASSES = ['transitory', 'standard', 'permanent'] as const;
/** One of {@link RETENTION_CLASSES}. */
export type RetentionClass = (typeof RETENTION_CLASSES)[number];

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

function ed25519(raw: Uint8Array) {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

function openSigned(
  doc: Uint8Array,
  domain: string,
  signer: Uint8Array,
  code: 'KEY_MANAGER_INVALID' | 'BUCKET_KEY_INVALID',
  what: string,
): Record<string, unknown> {
  const fail = (m: string, cause?: unknown) =>
    new ClientError(code, `${what}: ${m}`, cause === undefined ? undefined : { cause });
  let outer: unknown;
  try {
    outer = decodeStrictCbor(doc, what, 'MALFORMED_INPUT');
  } catch (e) {
    throw fail('not deterministic CBOR', e);
  }
  if (!Array.isArray(outer) || outer.length !== 2) throw fail('not [payload, signature]');
  const [payload, sig] = outer as unknown[];
  if (!(payload instanceof Uint8Array) || !(sig instanceof Uint8Array) || sig.length !== 64)
    throw fail('payload must be bytes and the signature 64 bytes');
  if (signer.length !== 32) throw fail('signing key is not 32 bytes');
  const message = Buffer.concat([Buffer.from(domain, 'ascii'), Buffer.of(0), payload]);
  if (!edVerify(null, message, ed25519(signer), sig)) throw fail('signature does not verify');
  let map: unknown;
  try {
    map = decodeStrictCbor(payload, what, 'MALFORMED_INPUT');
  } catch (e) {
    throw fail('payload is not deterministic CBOR', e);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map) || map instanceof Uint8Array)
    throw fail('payload is not a map');
  const m = map as Record<string, unknown>;
  return m;
}

const isMillis = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isKey32 = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;

function exactKeys(m: Record<string, unknown>, keys: readonly string[]): boolean {
  return Object.keys(m).sort().join() === [...keys].sort().join();
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

/** Verifies the key-manager delegation with the (pinned) org signing key. */
export function verifyDelegation(delegation: Uint8Array, orgSigningKey: Uint8Array): KeyManager {
  const what = 'key-manager delegation';
  const m = openSigned(delegation, DELEGATION_DOMAIN, orgSigningKey, 'KEY_MANAGER_INVALID', what);
  const bad = (f: string) => new ClientError('KEY_MANAGER_INVALID', `${what}: ${f}`);
  if (!exactKeys(m, ['v', 'typ', 'key', 'nbf', 'naf']) || m.v !== 1 || m.typ !== 'key-manager')
    throw bad('not a v1 key-manager delegation');
  if (!isKey32(m.key) || !isMillis(m.nbf) || !isMillis(m.naf) || m.nbf >= m.naf)
    throw bad('fields malformed');
  return { key: m.key, notBefore: m.nbf, notAfter: m.naf };
}

/** Verifies a bucket-key document with the key manager, for organisation `orgId`. */
export function verifyBucketDocument(document: Uint8Array, km: KeyManager, orgId: string): VerifiedBucket {
  const what = 'bucket-key document';
  const m = openSigned(document, BUCKET_KEY_DOMAIN, km.key, 'BUCKET_KEY_INVALID', what);
  const bad = (f: string) => new ClientError('BUCKET_KEY_INVALID', `${what}: ${f}`);
  if (
    !exactKeys(m, ['v', 'typ', 'org', 'bkt', 'cls', 'per', 'nbf', 'naf', 'pk']) ||
    m.v !== 1 ||
    m.typ !== 'bucket-key'
  )
    throw bad('not a v1 bucket-key document');
  const { org, bkt, cls, per, nbf, naf, pk } = m;
  if (!isWellFormedId(org) || !isWellFormedId(bkt)) throw bad('org or bucket id malformed');
  if (org !== orgId) throw bad('names another organisation');
  if (typeof cls !== 'string' || !(RETENTION_CLASSES as readonly string[]).includes(cls))
    throw bad('unknown retention class');
  if (typeof per !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(per)) throw bad('period malformed');
  if (!isMillis(nbf) || !isMillis(naf) || nbf >= naf) throw bad('validity window malformed');
  if (nbf < km.notBefore || naf > km.notAfter) throw bad("window exceeds the key manager's delegation");
  if (!isKey32(pk)) throw bad('public key malformed');
  return {
    bucketId: bkt,
    org,
    retentionClass: cls as RetentionClass,
    period: per,
    notBefore: nbf,
    notAfter: naf,
    publicKey: pk,
    document,
  };
}
