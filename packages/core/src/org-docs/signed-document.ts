/**
 * The envelope every signed organisation document shares (docs/keys.md §2): deterministic
 * CBOR `[bstr payload, bstr signature]`, where the payload is the deterministic CBOR of a
 * map and the signature is Ed25519 (RFC 8032) over `domain ‖ 0x00 ‖ payload` — the ASCII
 * domain string names the document kind, so a signature on one kind never verifies as another.
 *
 * Invariants: the signature is checked before any payload field is read (except where a
 * document names its own signer, {@link openSignerNamedDocument}); every failure is a
 * CustosError — MALFORMED_INPUT for shape, SIGNATURE_INVALID for a signature that does not
 * verify — whose message starts with the document's name.
 */
import { KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { assertEd25519Key, ed25519PublicKeyFromRaw, ed25519Sign, ed25519Verify } from '../note/ed25519.js';
import { decodeStrict, encodeDeterministic, isCborMap } from '../record/deterministic-cbor.js';

/** Length of a raw Ed25519 public key. */
export const ORG_DOC_KEY_BYTES = 32;
/** Length of an Ed25519 signature. */
export const ORG_DOC_SIGNATURE_BYTES = 64;

/**
 * What signs a document: an Ed25519 private KeyObject (server tools, tests), or anything that
 * signs with one behind a handle (the console's SigningKey).
 */
export type OrgDocSigner = KeyObject | { sign(message: Uint8Array): Uint8Array };

function signWith(signer: OrgDocSigner, message: Uint8Array): Uint8Array {
  if (!(signer instanceof KeyObject)) return signer.sign(message);
  assertEd25519Key(signer, 'private');
  return ed25519Sign(signer, message);
}

/** A document split into its payload and signature, not yet verified. */
export interface SplitDocument {
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** The bytes a document's signature covers: ASCII domain ‖ 0x00 ‖ payload. */
export function signedMessage(domain: string, payload: Uint8Array): Uint8Array {
  const d = new TextEncoder().encode(domain);
  const out = new Uint8Array(d.length + 1 + payload.length);
  out.set(d, 0);
  out.set(payload, d.length + 1);
  return out;
}

/** Encodes `fields` as the payload, signs it under `domain` and returns `[payload, signature]`. */
export function sealSignedDocument(
  domain: string,
  fields: Record<string, unknown>,
  signer: OrgDocSigner,
): Uint8Array {
  const payload = encodeDeterministic(fields);
  return encodeDeterministic([payload, signWith(signer, signedMessage(domain, payload))]);
}

/** Splits `[payload, signature]` without verifying; MALFORMED_INPUT naming `what` otherwise. */
export function splitSignedDocument(what: string, bytes: Uint8Array): SplitDocument {
  const outer = decodeStrict(bytes, what, 'MALFORMED_INPUT');
  if (!Array.isArray(outer) || outer.length !== 2)
    throw new CustosError('MALFORMED_INPUT', `${what}: not [payload, signature]`);
  const [payload, signature] = outer as unknown[];
  if (
    !(payload instanceof Uint8Array) ||
    !(signature instanceof Uint8Array) ||
    signature.length !== ORG_DOC_SIGNATURE_BYTES
  ) {
    throw new CustosError('MALFORMED_INPUT', `${what}: payload must be bytes and the signature 64 bytes`);
  }
  return { payload, signature };
}

/** Decodes a payload that must be a deterministic CBOR map; MALFORMED_INPUT naming `what` otherwise. */
export function decodePayloadMap(what: string, payload: Uint8Array): Record<string, unknown> {
  const map = decodeStrict(payload, `${what} payload`, 'MALFORMED_INPUT');
  if (!isCborMap(map)) throw new CustosError('MALFORMED_INPUT', `${what}: payload is not a map`);
  return map;
}

/** Throws SIGNATURE_INVALID unless `signature` verifies with the raw Ed25519 `publicKey`. */
export function verifyDocumentSignature(
  what: string,
  domain: string,
  split: SplitDocument,
  publicKey: Uint8Array,
): void {
  if (publicKey.length !== ORG_DOC_KEY_BYTES)
    throw new CustosError('SIGNATURE_INVALID', `${what}: the signing key is not 32 bytes`);
  let key;
  try {
    key = ed25519PublicKeyFromRaw(publicKey);
  } catch (cause) {
    throw new CustosError('SIGNATURE_INVALID', `${what}: the signing key is not an Ed25519 key`, { cause });
  }
  if (!ed25519Verify(key, signedMessage(domain, split.payload), split.signature))
    throw new CustosError('SIGNATURE_INVALID', `${what}: signature does not verify`);
}

/** Splits, verifies with `publicKey` under `domain`, and returns the payload map. */
export function openSignedDocument(
  what: string,
  bytes: Uint8Array,
  domain: string,
  publicKey: Uint8Array,
): Record<string, unknown> {
  const split = splitSignedDocument(what, bytes);
  verifyDocumentSignature(what, domain, split, publicKey);
  return decodePayloadMap(what, split.payload);
}

/** Throws MALFORMED_INPUT unless `m` has exactly the fields `keys` (in any order). */
function requireExactFields(what: string, m: Record<string, unknown>, keys: readonly string[]): void {
  if (Object.keys(m).sort().join() !== [...keys].sort().join())
    throw new CustosError('MALFORMED_INPUT', `${what}: fields must be exactly ${keys.join(', ')}`);
}

/** Throws MALFORMED_INPUT unless the payload is version 1 of document type `typ`. */
function requireVersion(what: string, m: Record<string, unknown>, typ: string): void {
  if (m.v !== 1 || m.typ !== typ)
    throw new CustosError('MALFORMED_INPUT', `${what}: not a v1 ${typ} document`);
}

/** Throws MALFORMED_INPUT unless `m` is a v1 `typ` payload with exactly the fields `keys`. */
export function requireShape(
  what: string,
  m: Record<string, unknown>,
  typ: string,
  keys: readonly string[],
): void {
  requireExactFields(what, m, keys);
  requireVersion(what, m, typ);
}

/** {@link openSignedDocument}, then {@link requireShape}: every org document's reader starts here. */
export function openTypedDocument(
  what: string,
  bytes: Uint8Array,
  domain: string,
  publicKey: Uint8Array,
  typ: string,
  keys: readonly string[],
): Record<string, unknown> {
  const m = openSignedDocument(what, bytes, domain, publicKey);
  requireShape(what, m, typ, keys);
  return m;
}

/**
 * Opens a document that names its own signer (an officer index in the payload): splits it,
 * checks it is a v1 `typ` payload with exactly the fields `keys`, reads it with `check`, then
 * verifies its signature under `domain` with `signingKeyOf(signerOf(doc))` before returning
 * it. The payload is read before the signature is checked only because it names the key; no
 * caller sees it unless the signature verifies. `signingKeyOf` throws when the signer is not
 * known. SIGNATURE_INVALID or MALFORMED_INPUT naming `what`.
 */
export function openSignerNamedDocument<T>(
  what: string,
  bytes: Uint8Array,
  domain: string,
  typ: string,
  keys: readonly string[],
  check: (m: Readonly<Record<string, unknown>>) => T,
  signerOf: (doc: T) => number,
  signingKeyOf: (officerIndex: number) => Uint8Array,
): T {
  const split = splitSignedDocument(what, bytes);
  const m = decodePayloadMap(what, split.payload);
  requireShape(what, m, typ, keys);
  const doc = check(m);
  verifyDocumentSignature(what, domain, split, signingKeyOf(signerOf(doc)));
  return doc;
}

/** Throws MALFORMED_INPUT naming field `field` of `what`. */
export function badField(what: string, field: string, why = 'is missing or malformed'): never {
  throw new CustosError('MALFORMED_INPUT', `${what}: "${field}" ${why}`);
}

/** True for a millisecond time or a count: a safe, non-negative integer. */
export const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** True for a 32-byte raw public key. */
export const isKey32 = (v: unknown): v is Uint8Array =>
  v instanceof Uint8Array && v.length === ORG_DOC_KEY_BYTES;
