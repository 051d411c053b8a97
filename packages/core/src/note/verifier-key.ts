/**
 * Verifier keys (c2sp.org/signed-note "vkeys"): `<name>+<hex key ID>+<base64(type || public key)>`.
 *
 * Key names cannot contain `+` but base64 can, so the string is split on its first two
 * `+` only. The key ID is recomputed from name, type and key and must match.
 */
import type { KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { assertEd25519Key, ed25519PublicKeyFromRaw, ed25519RawPublicKey } from './ed25519.js';
import {
  computeKeyId,
  ED25519_PUBLIC_KEY_BYTES,
  formatKeyId,
  isSupportedSignatureType,
  type KeyId,
  type SignatureType,
} from './key-id.js';
import { MAX_KEY_STRING_LENGTH } from './limits.js';
import { assertKeyName } from './note-text.js';

/** A parsed verifier key: who signs (name, key ID), how (type), and the public key. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: KeyId;
  readonly type: SignatureType;
  /** Raw public key (32 bytes for both supported types). */
  readonly publicKey: Uint8Array;
}

const KEY_ID_HEX = /^[0-9a-f]{8}$/;

function malformed(message: string, cause?: unknown): CustosError {
  return new CustosError(
    'MALFORMED_VERIFIER_KEY',
    `verifier key: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

/** Parses a verifier-key string, checking name, key ID, type and key length. */
export function parseVerifierKey(vkey: string): VerifierKey {
  if (typeof vkey !== 'string') throw malformed('must be a string');
  if (vkey.length > MAX_KEY_STRING_LENGTH) throw malformed(`longer than ${MAX_KEY_STRING_LENGTH} characters`);
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw malformed("expected '<name>+<key id>+<key>'");
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const keyB64 = vkey.slice(second + 1);
  assertKeyName(name, 'MALFORMED_VERIFIER_KEY', 'verifier key');
  if (!KEY_ID_HEX.test(idHex)) throw malformed('key ID must be 8 lowercase hex digits');
  const raw = decodeBase64(keyB64);
  if (raw === undefined || raw.length === 0) throw malformed('key is not canonical base64');
  const type = raw[0]!;
  if (!isSupportedSignatureType(type)) {
    throw malformed(`unsupported signature type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const publicKey = raw.slice(1);
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw malformed(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
  }
  const keyId = computeKeyId(name, type, publicKey);
  if (formatKeyId(keyId) !== idHex) throw malformed('key ID does not match name, type and key');
  return { name, keyId, type, publicKey };
}

/** Formats a verifier key as its canonical string. */
export function formatVerifierKey(key: VerifierKey): string {
  assertKeyName(key.name, 'INVALID_ARGUMENT', 'verifier key');
  if (!isSupportedSignatureType(key.type) || key.publicKey.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CustosError('INVALID_ARGUMENT', 'verifier key: unsupported type or key length');
  }
  if (computeKeyId(key.name, key.type, key.publicKey) !== key.keyId) {
    throw new CustosError('INVALID_ARGUMENT', 'verifier key: key ID does not match name, type and key');
  }
  const body = new Uint8Array(1 + key.publicKey.length);
  body[0] = key.type;
  body.set(key.publicKey, 1);
  return `${key.name}+${formatKeyId(key.keyId)}+${encodeBase64(body)}`;
}

/** Builds the verifier key of an Ed25519 public (or private) KeyObject under `name` and `type`. */
export function verifierKeyFromKeyObject(name: string, type: SignatureType, key: KeyObject): VerifierKey {
  assertKeyName(name, 'INVALID_ARGUMENT', 'verifier key');
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CustosError('INVALID_ARGUMENT', 'verifier key: expected an Ed25519 KeyObject');
  }
  if (key.type === 'public') assertEd25519Key(key, 'public');
  const publicKey = ed25519RawPublicKey(key);
  return { name, keyId: computeKeyId(name, type, publicKey), type, publicKey };
}

/** The public KeyObject of a verifier key (validates the point encoding). */
export function verifierKeyObject(key: VerifierKey): KeyObject {
  return ed25519PublicKeyFromRaw(key.publicKey);
}
