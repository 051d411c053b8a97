/**
 * The signed key documents of key distribution (docs/keys.md): the key-manager delegation
 * (signed by the org signing key at the key ceremony) and bucket-key documents (signed by
 * the key manager). Both are `CBOR [bstr payload, bstr signature]` with a deterministic-CBOR
 * payload, and the signature covers a domain string, 0x00, then the payload bytes.
 */
import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { decodeStrictCbor, encodeDeterministicCbor, isWellFormedId } from '@custos/core';
import { RETENTION_CLASSES } from '../store/records.js';

/** Domain of key-manager delegation signatures. */
export const DELEGATION_DOMAIN = 'custos-key-manager-delegation-v1';
/** Domain of bucket-key document signatures. */
export const BUCKET_KEY_DOMAIN = 'custos-bucket-key-v1';
/** Longest period label (e.g. `2026`, `2026-Q1`, `2026-03`). */
export const MAX_PERIOD_LENGTH = 32;

/** A verified key-manager delegation. */
export interface KeyManagerDelegation {
  /** Raw 32-byte Ed25519 key-manager public key. */
  readonly key: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A verified bucket-key document. */
export interface BucketKeyDocument {
  readonly org: string;
  readonly bucket: string;
  readonly retentionClass: string;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Raw 32-byte X25519 bucket public key. */
  readonly publicKey: Uint8Array;
}

/** A key document that does not parse or verify; `message` names what is wrong. */
export class KeyDocumentError extends Error {
  override readonly name = 'KeyDocumentError';
}

/** An Ed25519 public KeyObject from 32 raw bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new KeyDocumentError('an Ed25519 public key is 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** The bytes a key document's signature covers: domain ‖ 0x00 ‖ payload. */
export function signedBytes(domain: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(domain, 'ascii'), Buffer.of(0), payload]);
}

/** Splits `[payload, signature]` and verifies the signature with `signer`; returns the payload map. */
export function openSigned(
  what: string,
  bytes: Uint8Array,
  domain: string,
  signer: KeyObject,
): Record<string, unknown> {
  let outer: unknown;
  try {
    outer = decodeStrictCbor(bytes, what, 'MALFORMED_INPUT');
  } catch {
    throw new KeyDocumentError(`${what}: not deterministic CBOR`);
  }
  if (!Array.isArray(outer) || outer.length !== 2)
    throw new KeyDocumentError(`${what}: not [payload, signature]`);
  const [payload, sig] = outer as unknown[];
  if (!(payload instanceof Uint8Array) || !(sig instanceof Uint8Array) || sig.length !== 64) {
    throw new KeyDocumentError(`${what}: payload must be bytes and the signature 64 bytes`);
  }
  if (!edVerify(null, signedBytes(domain, payload), signer, sig)) {
    throw new KeyDocumentError(`${what}: signature does not verify`);
  }
  let map: unknown;
  try {
    map = decodeStrictCbor(payload, what, 'MALFORMED_INPUT');
  } catch {
    throw new KeyDocumentError(`${what}: payload is not deterministic CBOR`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map) || map instanceof Uint8Array) {
    throw new KeyDocumentError(`${what}: payload is not a map`);
  }
  return map as Record<string, unknown>;
}

function field<T>(what: string, m: Record<string, unknown>, k: string, ok: (v: unknown) => v is T): T {
  const v = m[k];
  if (!ok(v)) throw new KeyDocumentError(`${what}: "${k}" is missing or malformed`);
  return v;
}

const isMillis = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isKey32 = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const isStr = (v: unknown): v is string => typeof v === 'string';

function exactKeys(what: string, m: Record<string, unknown>, keys: readonly string[]): void {
  const got = Object.keys(m).sort().join();
  if (got !== [...keys].sort().join())
    throw new KeyDocumentError(`${what}: fields must be exactly ${keys.join(', ')}`);
}

/** Verifies a delegation with the org signing key (raw Ed25519). Throws KeyDocumentError. */
export function openDelegation(bytes: Uint8Array, orgSigningKey: Uint8Array): KeyManagerDelegation {
  const what = 'key-manager delegation';
  const m = openSigned(what, bytes, DELEGATION_DOMAIN, ed25519PublicKey(orgSigningKey));
  exactKeys(what, m, ['v', 'typ', 'key', 'nbf', 'naf']);
  if (m.v !== 1 || m.typ !== 'key-manager')
    throw new KeyDocumentError(`${what}: not a v1 key-manager delegation`);
  const d = {
    key: field(what, m, 'key', isKey32),
    notBefore: field(what, m, 'nbf', isMillis),
    notAfter: field(what, m, 'naf', isMillis),
  };
  if (d.notBefore >= d.notAfter) throw new KeyDocumentError(`${what}: nbf must be before naf`);
  return d;
}

/** Verifies a bucket-key document with the key-manager key (raw Ed25519). Throws KeyDocumentError. */
export function openBucketKeyDocument(bytes: Uint8Array, keyManagerKey: Uint8Array): BucketKeyDocument {
  const what = 'bucket-key document';
  const m = openSigned(what, bytes, BUCKET_KEY_DOMAIN, ed25519PublicKey(keyManagerKey));
  exactKeys(what, m, ['v', 'typ', 'org', 'bkt', 'cls', 'per', 'nbf', 'naf', 'pk']);
  if (m.v !== 1 || m.typ !== 'bucket-key')
    throw new KeyDocumentError(`${what}: not a v1 bucket-key document`);
  const doc = {
    org: field(what, m, 'org', isWellFormedId),
    bucket: field(what, m, 'bkt', isWellFormedId),
    retentionClass: field(what, m, 'cls', isStr),
    period: field(what, m, 'per', isStr),
    notBefore: field(what, m, 'nbf', isMillis),
    notAfter: field(what, m, 'naf', isMillis),
    publicKey: field(what, m, 'pk', isKey32),
  };
  if (!(RETENTION_CLASSES as readonly string[]).includes(doc.retentionClass)) {
    throw new KeyDocumentError(`${what}: "cls" must be one of ${RETENTION_CLASSES.join(', ')}`);
  }
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(doc.period)) throw new KeyDocumentError(`${what}: "per" is malformed`);
  if (doc.notBefore >= doc.notAfter) throw new KeyDocumentError(`${what}: nbf must be before naf`);
  return doc;
}

/** Encodes and signs a delegation (key ceremony side; used by tests and tools). */
export function sealDelegation(d: KeyManagerDelegation, orgSigningKey: KeyObject): Uint8Array {
  const payload = encodeDeterministicCbor({
    v: 1,
    typ: 'key-manager',
    key: d.key,
    nbf: d.notBefore,
    naf: d.notAfter,
  });
  return encodeDeterministicCbor([
    payload,
    edSign(null, signedBytes(DELEGATION_DOMAIN, payload), orgSigningKey),
  ]);
}

/** Encodes and signs a bucket-key document (key-manager side; used by tests and tools). */
export function sealBucketKeyDocument(doc: BucketKeyDocument, keyManagerKey: KeyObject): Uint8Array {
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
  return encodeDeterministicCbor([
    payload,
    edSign(null, signedBytes(BUCKET_KEY_DOMAIN, payload), keyManagerKey),
  ]);
}
