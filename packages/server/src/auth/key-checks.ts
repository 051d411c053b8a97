/**
 * Checks of device key material with libsignal: the identity key must parse, and the
 * signed and Kyber prekeys must carry valid identity-key signatures, before anything is
 * stored. Failures name the field and never echo the bytes.
 */
import { KEMPublicKey, PublicKey } from '@signalapp/libsignal-client';
import { ServerError } from '../errors.js';

/** libsignal wants a plain ArrayBuffer-backed view; Buffers may sit on a shared pool. */
function copy(b: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

/** Parses a 33-byte libsignal identity (or EC prekey) public key. */
export function parseEcPublicKey(field: string, bytes: Buffer): PublicKey {
  try {
    return PublicKey.deserialize(copy(bytes));
  } catch (e) {
    throw new ServerError('INVALID_KEY', `${field}: not a valid libsignal public key`, { cause: e });
  }
}

/** Checks that a Kyber public key parses. */
export function checkKemPublicKey(field: string, bytes: Buffer): void {
  try {
    KEMPublicKey.deserialize(copy(bytes));
  } catch (e) {
    throw new ServerError('INVALID_KEY', `${field}: not a valid libsignal Kyber public key`, { cause: e });
  }
}

/** Verifies an identity-key signature; `false` from libsignal and a throw both fail with the field named. */
export function verifySignature(
  identity: PublicKey,
  field: string,
  message: Buffer,
  signature: Buffer,
  code: 'INVALID_KEY' | 'SIGNATURE_INVALID' = 'INVALID_KEY',
): void {
  let ok = false;
  try {
    ok = identity.verify(copy(message), copy(signature));
  } catch {
    ok = false;
  }
  if (!ok) throw new ServerError(code, `${field}: signature does not verify with the identity key`);
}
