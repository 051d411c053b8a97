/**
 * c2sp.org/tlog-cosignature v1 (Ed25519, signature type 0x04).
 *
 * Signed message: `cosignature/v1\ntime <ts>\n` || checkpoint note text.
 * Signature bytes after the key ID: u64 big-endian timestamp (POSIX seconds) || 64-byte
 * Ed25519 signature. Custos keeps timestamps within JS safe integers (< 2^53), far
 * beyond any real clock; larger values are rejected as malformed.
 */
import type { KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { assertEd25519Key, ed25519RawPublicKey, ed25519Sign } from './ed25519.js';
import {
  computeKeyId,
  ED25519_SIGNATURE_BYTES,
  SIGNATURE_TYPE_COSIGNATURE_V1,
  type KeyId,
} from './key-id.js';
import { assertKeyName, utf8Bytes } from './note-text.js';
import type { NoteSigner } from './signer.js';
import type { VerifierKey } from './verifier-key.js';

/** Length of a v1 cosignature after the key ID: 8-byte timestamp + 64-byte signature. */
export const COSIGNATURE_V1_BYTES = 8 + ED25519_SIGNATURE_BYTES;

/** Header line of the v1 cosigned message (domain separation). */
const COSIGNATURE_V1_HEADER = 'cosignature/v1\n';

/** Source of the current time in POSIX seconds; injectable for tests. */
export type SecondsClock = () => number;

/** The default clock: wall-clock POSIX seconds. */
export const systemSecondsClock: SecondsClock = () => Math.floor(Date.now() / 1000);

function assertTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new CustosError('INVALID_ARGUMENT', 'cosignature timestamp must be a non-negative safe integer');
  }
}

/** Builds the exact bytes a v1 cosigner signs for `checkpointText` at `timestamp`. */
export function cosignatureMessage(checkpointText: Uint8Array, timestamp: number): Uint8Array {
  assertTimestamp(timestamp);
  const head = utf8Bytes(`${COSIGNATURE_V1_HEADER}time ${timestamp}\n`);
  const out = new Uint8Array(head.length + checkpointText.length);
  out.set(head, 0);
  out.set(checkpointText, head.length);
  return out;
}

/** Splits v1 cosignature bytes (after the key ID) into timestamp and Ed25519 signature. */
export function splitCosignature(sig: Uint8Array): { timestamp: number; signature: Uint8Array } | undefined {
  if (sig.length !== COSIGNATURE_V1_BYTES) return undefined;
  const view = new DataView(sig.buffer, sig.byteOffset, 8);
  const ts = view.getBigUint64(0, false);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { timestamp: Number(ts), signature: sig.subarray(8) };
}

/** A witness that cosigns checkpoints with an Ed25519 key (type 0x04). */
export class CosignatureSigner implements NoteSigner {
  readonly name: string;
  readonly keyId: KeyId;
  readonly type: typeof SIGNATURE_TYPE_COSIGNATURE_V1 = SIGNATURE_TYPE_COSIGNATURE_V1;
  readonly publicKey: Uint8Array;
  // MUST NOT be logged or exported: the witness's private key.
  readonly #key: KeyObject;
  readonly #clock: SecondsClock;

  /** Wraps an Ed25519 private KeyObject; `clock` supplies the cosignature time. */
  constructor(name: string, privateKey: KeyObject, clock: SecondsClock = systemSecondsClock) {
    assertKeyName(name, 'INVALID_ARGUMENT', 'cosigner');
    assertEd25519Key(privateKey, 'private');
    this.name = name;
    this.#key = privateKey;
    this.#clock = clock;
    this.publicKey = ed25519RawPublicKey(privateKey);
    this.keyId = computeKeyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, this.publicKey);
  }

  /** Returns timestamp || signature over the cosigned message for `text`. */
  sign(text: Uint8Array): Uint8Array {
    const timestamp = this.#clock();
    const sig = ed25519Sign(this.#key, cosignatureMessage(text, timestamp));
    const out = new Uint8Array(COSIGNATURE_V1_BYTES);
    new DataView(out.buffer).setBigUint64(0, BigInt(timestamp), false);
    out.set(sig, 8);
    return out;
  }

  /** The verifier key (type 0x04) that relying parties configure for this witness. */
  verifierKey(): VerifierKey {
    return { name: this.name, keyId: this.keyId, type: this.type, publicKey: this.publicKey };
  }

  /** Never reveals the key when logged or serialised. */
  toJSON(): string {
    return `CosignatureSigner(${this.name})`;
  }

  /** Never reveals the key in `util.inspect` / console output. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}
