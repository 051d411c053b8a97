/**
 * Note verifiers and verifier sets. A verifier is identified by (key name, key ID); a
 * set maps that pair to exactly one key, so a signature line is either from a known key
 * (and must verify) or from an unknown one (and is ignored).
 */
import type { KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { cosignatureMessage, splitCosignature } from './cosignature.js';
import { ed25519Verify } from './ed25519.js';
import { formatKeyId, SIGNATURE_TYPE_COSIGNATURE_V1, type KeyId, type SignatureType } from './key-id.js';
import { parseVerifierKey, verifierKeyObject, type VerifierKey } from './verifier-key.js';

/** A signature that verified, with the cosignature timestamp for type 0x04. */
export interface VerifiedSignature {
  readonly name: string;
  readonly keyId: KeyId;
  readonly type: SignatureType;
  /** POSIX seconds, only for cosignatures (type 0x04). */
  readonly timestamp?: number;
}

/** Verifies signatures made by one key. */
export interface NoteVerifier {
  readonly key: VerifierKey;
  /** Verifies `sig` (the bytes after the key ID) over note `text`; throws SIGNATURE_INVALID. */
  verify(text: Uint8Array, sig: Uint8Array): VerifiedSignature;
}

function invalid(key: VerifierKey): CustosError {
  return new CustosError(
    'SIGNATURE_INVALID',
    `signature by known key ${key.name}+${formatKeyId(key.keyId)} does not verify`,
  );
}

/** Builds the verifier for a parsed verifier key or verifier-key string. */
export function createNoteVerifier(vkey: VerifierKey | string): NoteVerifier {
  const key = typeof vkey === 'string' ? parseVerifierKey(vkey) : vkey;
  let publicKey: KeyObject;
  try {
    publicKey = verifierKeyObject(key);
  } catch (cause) {
    throw new CustosError('MALFORMED_VERIFIER_KEY', 'verifier key: public key is not a valid Ed25519 key', {
      cause,
    });
  }
  const base = { name: key.name, keyId: key.keyId, type: key.type };
  if (key.type === SIGNATURE_TYPE_COSIGNATURE_V1) {
    return {
      key,
      verify(text, sig) {
        const parts = splitCosignature(sig);
        if (parts === undefined) throw invalid(key);
        if (!ed25519Verify(publicKey, cosignatureMessage(text, parts.timestamp), parts.signature)) {
          throw invalid(key);
        }
        return { ...base, timestamp: parts.timestamp };
      },
    };
  }
  return {
    key,
    verify(text, sig) {
      if (!ed25519Verify(publicKey, text, sig)) throw invalid(key);
      return base;
    },
  };
}

function slot(name: string, keyId: number): string {
  return `${name}\n${keyId}`;
}

/** An immutable set of known keys, looked up by (name, key ID). */
export class NoteVerifierSet {
  readonly #byKey = new Map<string, NoteVerifier>();

  /**
   * Builds a set. Listing the same key twice is harmless; two different keys with the
   * same name and key ID are ambiguous and rejected (INVALID_ARGUMENT).
   */
  constructor(keys: readonly (VerifierKey | string | NoteVerifier)[]) {
    for (const k of keys) {
      const v = typeof k === 'object' && 'verify' in k ? k : createNoteVerifier(k);
      const id = slot(v.key.name, v.key.keyId);
      const prior = this.#byKey.get(id);
      if (prior !== undefined) {
        if (prior.key.type === v.key.type && Buffer.compare(prior.key.publicKey, v.key.publicKey) === 0)
          continue;
        throw new CustosError(
          'INVALID_ARGUMENT',
          `ambiguous verifier keys: two keys named ${v.key.name} share key ID ${formatKeyId(v.key.keyId)}`,
        );
      }
      this.#byKey.set(id, v);
    }
  }

  /** The verifier for (name, keyId), or undefined when the key is unknown. */
  get(name: string, keyId: number): NoteVerifier | undefined {
    return this.#byKey.get(slot(name, keyId));
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The keys in this set. */
  keys(): VerifierKey[] {
    return [...this.#byKey.values()].map((v) => v.key);
  }
}

/** Accepted wherever a set of known keys is expected. */
export type VerifiersInput = NoteVerifierSet | readonly (VerifierKey | string | NoteVerifier)[];

/** Normalises {@link VerifiersInput} to a set. */
export function toVerifierSet(v: VerifiersInput): NoteVerifierSet {
  return v instanceof NoteVerifierSet ? v : new NoteVerifierSet(v);
}
