/**
 * The signed key documents the ceremony makes (docs/ceremony.md §4; the server verifies them
 * in packages/server/src/keys/key-documents.ts, and test/org-create-documents.test.ts keeps
 * both sides equal):
 *
 * - the key-manager delegation, signed by the org signing key (the root of trust for
 *   signatures): payload { v: 1, typ: "key-manager", key, nbf, naf };
 * - bucket-key documents, signed by the key manager:
 *   payload { v: 1, typ: "bucket-key", org, bkt, cls, per, nbf, naf, pk }.
 *
 * Each is deterministic CBOR `[bstr payload, bstr signature]`; the Ed25519 signature covers
 * the ASCII domain, one 0x00 byte, then the payload bytes. Times are ms since the epoch;
 * windows are inclusive at both ends.
 */
import { CustosError, decodeStrictCbor, encodeDeterministicCbor, isWellFormedId } from '@custos/core';
import { RETENTION_CLASSES, type RetentionClass } from './defaults.js';
import {
  ED25519_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  verifyEd25519,
  type SigningKey,
} from './signing-key.js';

/** Domain of key-manager delegation signatures. */
export const DELEGATION_DOMAIN = 'custos-key-manager-delegation-v1';
/** Domain of bucket-key document signatures. */
export const BUCKET_KEY_DOMAIN = 'custos-bucket-key-v1';

const PERIOD_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;

/** A key-manager delegation: which key may sign bucket keys, and when. */
export interface KeyManagerDelegation {
  /** Raw 32-byte Ed25519 key-manager public key. */
  readonly key: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A bucket-key document: one bucket's X25519 public key, class, period and window. */
export interface BucketKeyDocument {
  readonly org: string;
  readonly bucket: string;
  readonly retentionClass: RetentionClass;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Raw 32-byte X25519 bucket public key. */
  readonly publicKey: Uint8Array;
}

function signedBytes(domain: string, payload: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(domain, 'ascii'), Buffer.of(0), payload]);
}

function checkWindow(what: string, nbf: unknown, naf: unknown): void {
  const ok = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!ok(nbf) || !ok(naf)) throw new CustosError('MALFORMED_INPUT', `${what}: nbf and naf must be ms times`);
  if ((nbf as number) >= (naf as number))
    throw new CustosError('MALFORMED_INPUT', `${what}: nbf must be before naf`);
}

/** Encodes and signs a delegation with the org signing key. */
export function sealDelegation(d: KeyManagerDelegation, orgSigningKey: SigningKey): Uint8Array {
  checkWindow('key-manager delegation', d.notBefore, d.notAfter);
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'key-manager',
    key: d.key,
    nbf: d.notBefore,
    naf: d.notAfter,
  });
  return encodeDeterministicCbor([payload, orgSigningKey.sign(signedBytes(DELEGATION_DOMAIN, payload))]);
}

/** Encodes and signs a bucket-key document with the key-manager key. */
export function sealBucketKeyDocument(doc: BucketKeyDocument, keyManager: SigningKey): Uint8Array {
  checkWindow('bucket-key document', doc.notBefore, doc.notAfter);
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'bucket-key',
    org: doc.org,
    bkt: doc.bucket,
    cls: doc.retentionClass,
    per: doc.period,
    nbf: doc.notBefore,
    naf: doc.notAfter,
    pk: doc.publicKey,
  });
  return encodeDeterministicCbor([payload, keyManager.sign(signedBytes(BUCKET_KEY_DOMAIN, payload))]);
}

function openSigned(
  what: string,
  bytes: Uint8Array,
  domain: string,
  signer: Uint8Array,
): Record<string, unknown> {
  const outer = decodeStrictCbor(bytes, what, 'MALFORMED_INPUT');
  if (!Array.isArray(outer) || outer.length !== 2) {
    throw new CustosError('MALFORMED_INPUT', `${what}: not [payload, signature]`);
  }
  const [payload, sig] = outer as unknown[];
  if (
    !(payload instanceof Uint8Array) ||
    !(sig instanceof Uint8Array) ||
    sig.length !== ED25519_SIGNATURE_LENGTH
  ) {
    throw new CustosError('MALFORMED_INPUT', `${what}: payload must be bytes and the signature 64 bytes`);
  }
  if (!verifyEd25519(signer, signedBytes(domain, payload), sig)) {
    throw new CustosError('SIGNATURE_INVALID', `${what}: signature does not verify`);
  }
  const map = decodeStrictCbor(payload, what, 'MALFORMED_INPUT');
  if (typeof map !== 'object' || map === null || Array.isArray(map) || map instanceof Uint8Array) {
    throw new CustosError('MALFORMED_INPUT', `${what}: payload is not a map`);
  }
  return map as Record<string, unknown>;
}

function exactKeys(what: string, m: Record<string, unknown>, keys: readonly string[]): void {
  if (Object.keys(m).sort().join() !== [...keys].sort().join()) {
    throw new CustosError('MALFORMED_INPUT', `${what}: fields must be exactly ${keys.join(', ')}`);
  }
}

const isKey32 = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === ED25519_KEY_LENGTH;

/** Verifies a delegation with the raw org signing public key; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openDelegation(bytes: Uint8Array, orgSigningPublicKey: Uint8Array): KeyManagerDelegation {
  const what = 'key-manager delegation';
  const m = openSigned(what, bytes, DELEGATION_DOMAIN, orgSigningPublicKey);
  exactKeys(what, m, ['v', 'typ', 'key', 'nbf', 'naf']);
  if (m.v !== 1 || m.typ !== 'key-manager')
    throw new CustosError('MALFORMED_INPUT', `${what}: not a v1 delegation`);
  if (!isKey32(m.key)) throw new CustosError('MALFORMED_INPUT', `${what}: "key" must be 32 bytes`);
  checkWindow(what, m.nbf, m.naf);
  return { key: m.key, notBefore: m.nbf as number, notAfter: m.naf as number };
}

/** Verifies a bucket-key document with the raw key-manager public key; SIGNATURE_INVALID or MALFORMED_INPUT. */
export function openBucketKeyDocument(bytes: Uint8Array, keyManagerPublicKey: Uint8Array): BucketKeyDocument {
  const what = 'bucket-key document';
  const m = openSigned(what, bytes, BUCKET_KEY_DOMAIN, keyManagerPublicKey);
  exactKeys(what, m, ['v', 'typ', 'org', 'bkt', 'cls', 'per', 'nbf', 'naf', 'pk']);
  const bad = (f: string): never => {
    throw new CustosError('MALFORMED_INPUT', `${what}: "${f}" is missing or malformed`);
  };
  if (m.v !== 1 || m.typ !== 'bucket-key')
    throw new CustosError('MALFORMED_INPUT', `${what}: not a v1 document`);
  if (!isWellFormedId(m.org)) bad('org');
  if (!isWellFormedId(m.bkt)) bad('bkt');
  if (!(RETENTION_CLASSES as readonly unknown[]).includes(m.cls)) bad('cls');
  if (typeof m.per !== 'string' || !PERIOD_PATTERN.test(m.per)) bad('per');
  if (!isKey32(m.pk)) bad('pk');
  checkWindow(what, m.nbf, m.naf);
  return {
    org: m.org as string,
    bucket: m.bkt as string,
    retentionClass: m.cls as RetentionClass,
    period: m.per as string,
    notBefore: m.nbf as number,
    notAfter: m.naf as number,
    publicKey: m.pk as Uint8Array,
  };
}

/**
 * Checks a bucket document against the org's signature chain: the delegation verifies with
 * the pinned org signing key, the document with the delegated key, and the document's window
 * lies inside the delegation's. Returns the verified document.
 */
export function verifyBucketChain(
  document: Uint8Array,
  delegation: Uint8Array,
  orgSigningPublicKey: Uint8Array,
): BucketKeyDocument {
  const d = openDelegation(delegation, orgSigningPublicKey);
  const doc = openBucketKeyDocument(document, d.key);
  if (doc.notBefore < d.notBefore || doc.notAfter > d.notAfter) {
    throw new CustosError(
      'SIGNATURE_INVALID',
      "bucket-key document: window exceeds the key manager's delegation",
    );
  }
  return doc;
}
