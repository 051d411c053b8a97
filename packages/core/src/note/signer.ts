/**
 * Note signers. A signer holds its private key as a node:crypto KeyObject, never as raw
 * bytes, and never reveals it in logs or JSON.
 *
 * Also the Go signer-key string `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`
 * (golang.org/x/mod/sumdb/note), used for test keys and the server's log key file.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import {
  assertEd25519Key,
  ed25519PrivateKeyFromSeed,
  ed25519RawPublicKey,
  ed25519RawSeed,
  ed25519Sign,
} from './ed25519.js';
import {
  computeKeyId,
  ED25519_PUBLIC_KEY_BYTES,
  formatKeyId,
  SIGNATURE_TYPE_ED25519,
  type KeyId,
  type SignatureType,
} from './key-id.js';
import { MAX_KEY_STRING_LENGTH } from './limits.js';
import { assertKeyName, isValidKeyName } from './note-text.js';
import { formatVerifierKey, type VerifierKey } from './verifier-key.js';

/** Anything that can add a signature line to a note. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: KeyId;
  readonly type: SignatureType;
  /** Returns the signature bytes that follow the key ID in the signature line. */
  sign(text: Uint8Array): Uint8Array;
}

/** A log (or test) key that signs note text with plain Ed25519 (type 0x01). */
export class Ed25519NoteSigner implements NoteSigner {
  readonly name: string;
  readonly keyId: KeyId;
  readonly type: typeof SIGNATURE_TYPE_ED25519 = SIGNATURE_TYPE_ED25519;
  readonly publicKey: Uint8Array;
  // MUST NOT be logged or exported: the log's private key.
  readonly #key: KeyObject;

  /** Wraps an Ed25519 private KeyObject under key name `name`. */
  constructor(name: string, privateKey: KeyObject) {
    assertKeyName(name, 'INVALID_ARGUMENT', 'signer');
    assertEd25519Key(privateKey, 'private');
    this.name = name;
    this.#key = privateKey;
    this.publicKey = ed25519RawPublicKey(privateKey);
    this.keyId = computeKeyId(name, SIGNATURE_TYPE_ED25519, this.publicKey);
  }

  /** Ed25519 signature of `text`. */
  sign(text: Uint8Array): Uint8Array {
    return ed25519Sign(this.#key, text);
  }

  /** The verifier key matching this signer. */
  verifierKey(): VerifierKey {
    return { name: this.name, keyId: this.keyId, type: this.type, publicKey: this.publicKey };
  }

  /** Never reveals the key when logged or serialised. */
  toJSON(): string {
    return `Ed25519NoteSigner(${this.name}+${formatKeyId(this.keyId)})`;
  }

  /** Never reveals the key in `util.inspect` / console output. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

// Error messages below never include the input: it holds a private key.
function malformedSignerKey(message: string): CustosError {
  return new CustosError('MALFORMED_INPUT', `signer key: ${message}`);
}

/** Parses a Go-format signer key into a signer, checking the key ID against the derived public key. */
export function parseSignerKey(skey: string): Ed25519NoteSigner {
  if (typeof skey !== 'string' || skey.length > MAX_KEY_STRING_LENGTH) {
    throw malformedSignerKey('must be a string of reasonable length');
  }
  const parts = skey.split('+');
  // PRIVATE, KEY, name, id, base64 — base64 may itself contain '+', so rejoin the tail.
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw malformedSignerKey("expected 'PRIVATE+KEY+<name>+<key id>+<key>'");
  }
  const name = parts[2]!;
  const idHex = parts[3]!;
  const keyB64 = parts.slice(4).join('+');
  if (!isValidKeyName(name)) throw malformedSignerKey('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw malformedSignerKey('key ID must be 8 lowercase hex digits');
  const raw = decodeBase64(keyB64);
  if (raw === undefined || raw.length !== 1 + ED25519_PUBLIC_KEY_BYTES) {
    throw malformedSignerKey('key must be canonical base64 of 33 bytes');
  }
  if (raw[0] !== SIGNATURE_TYPE_ED25519)
    throw malformedSignerKey('only Ed25519 (type 0x01) keys are supported');
  let key: KeyObject;
  try {
    key = ed25519PrivateKeyFromSeed(raw.subarray(1));
  } finally {
    raw.fill(0); // MUST NOT linger: contains key material
  }
  const signer = new Ed25519NoteSigner(name, key);
  if (formatKeyId(signer.keyId) !== idHex)
    throw malformedSignerKey('key ID does not match the derived public key');
  return signer;
}

/** Formats the Go signer-key string for `name` and an Ed25519 private KeyObject. Secret: MUST NOT be logged. */
export function formatSignerKey(name: string, privateKey: KeyObject): string {
  assertKeyName(name, 'INVALID_ARGUMENT', 'signer key');
  const seed = ed25519RawSeed(privateKey);
  const raw = new Uint8Array(1 + ED25519_PUBLIC_KEY_BYTES);
  raw[0] = SIGNATURE_TYPE_ED25519;
  raw.set(seed, 1);
  seed.fill(0);
  const id = computeKeyId(name, SIGNATURE_TYPE_ED25519, ed25519RawPublicKey(privateKey));
  const out = `PRIVATE+KEY+${name}+${formatKeyId(id)}+${encodeBase64(raw)}`;
  raw.fill(0);
  return out;
}

/** A freshly generated Ed25519 key pair in both string forms. `signerKey` is secret. */
export interface GeneratedSignerKey {
  /** `PRIVATE+KEY+...` — MUST NOT be logged; store with owner-only permissions. */
  readonly signerKey: string;
  /** The public verifier-key string to publish. */
  readonly verifierKey: string;
}

/** Generates a new Ed25519 signer key for key name `name` (like Go's note.GenerateKey). */
export function generateSignerKey(name: string): GeneratedSignerKey {
  assertKeyName(name, 'INVALID_ARGUMENT', 'signer key');
  const { privateKey } = generateKeyPairSync('ed25519');
  const signerKey = formatSignerKey(name, privateKey);
  const verifierKey = formatVerifierKey(new Ed25519NoteSigner(name, privateKey).verifierKey());
  return { signerKey, verifierKey };
}
