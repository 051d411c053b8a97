/**
 * Batch signatures (docs/archive-format.md §6): a device signs the hashes of a run of its
 * consecutive records with its Signal identity key, so one key serves messaging and
 * archive. XEdDSA (libsignal's PrivateKey.sign) over the message below. XEdDSA signatures
 * are randomised: the same batch signs differently each time, and vectors carry a
 * signature that must verify, not one to reproduce.
 *
 *   message = "custos-archive-v1 batch-signature" || 0x00
 *          || u16be(len(org))    || org      (ASCII)
 *          || u16be(len(device)) || device   (ASCII)
 *          || u64be(first sequence number)
 *          || u32be(count)
 *          || hash[0] || … || hash[count-1]   (32 bytes each, sequence order)
 */
import { PublicKey } from '@signalapp/libsignal-client';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { CustosError } from '../errors.js';
import type { DeviceId, OrgId, RecordHash } from '../record/ids.js';
import { HASH_LENGTH, isWellFormedId } from '../record/ids.js';
import { MAX_BATCH_RECORDS, MAX_SEQUENCE } from '../record/limits.js';

/** Domain-separation string that starts every signed batch message (ASCII, then one 0x00). */
export const BATCH_SIGNATURE_DOMAIN = 'custos-archive-v1 batch-signature';
/** Length of an XEdDSA signature. */
export const BATCH_SIGNATURE_LENGTH = 64;
/** Length of a serialized Signal identity public key: 0x05 type byte + 32-byte Curve25519 key. */
export const IDENTITY_PUBLIC_KEY_LENGTH = 33;

/** Consecutive records of one device, named by their hashes. */
export interface RecordBatch {
  readonly org: OrgId;
  readonly device: DeviceId;
  /** Sequence number of the first record; the others follow without gaps. */
  readonly firstSeq: number;
  /** Record hashes in sequence order (1 to MAX_BATCH_RECORDS). */
  readonly hashes: readonly RecordHash[];
}

const DOMAIN = Buffer.from(BATCH_SIGNATURE_DOMAIN + '\u0000', 'ascii');

/** The exact bytes a batch signature covers; throws INVALID_ARGUMENT for a malformed batch. */
export function encodeBatchMessage(batch: RecordBatch): Uint8Array<ArrayBuffer> {
  const bad = (what: string): never => {
    throw new CustosError('INVALID_ARGUMENT', `record batch: ${what}`);
  };
  if (!isWellFormedId(batch.org)) bad('org is not a well-formed id');
  if (!isWellFormedId(batch.device)) bad('device is not a well-formed id');
  const n = batch.hashes.length;
  if (n < 1 || n > MAX_BATCH_RECORDS) bad(`holds 1 to ${MAX_BATCH_RECORDS} hashes`);
  if (!Number.isSafeInteger(batch.firstSeq) || batch.firstSeq < 0 || batch.firstSeq + n - 1 > MAX_SEQUENCE) {
    bad('first sequence number is out of range');
  }
  const out = Buffer.alloc(
    DOMAIN.length + 2 + batch.org.length + 2 + batch.device.length + 8 + 4 + n * HASH_LENGTH,
  );
  let at = DOMAIN.copy(out, 0);
  at = out.writeUInt16BE(batch.org.length, at);
  at += out.write(batch.org, at, 'ascii');
  at = out.writeUInt16BE(batch.device.length, at);
  at += out.write(batch.device, at, 'ascii');
  at = out.writeBigUInt64BE(BigInt(batch.firstSeq), at);
  at = out.writeUInt32BE(n, at);
  batch.hashes.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH) bad(`hash ${i} is not ${HASH_LENGTH} bytes`);
    out.set(h, at);
    at += HASH_LENGTH;
  });
  return out;
}

/** Signs a batch with a device's Signal identity private key; returns the 64-byte signature. */
export function signBatch(identityPrivateKey: PrivateKey, batch: RecordBatch): Uint8Array {
  return Uint8Array.from(identityPrivateKey.sign(encodeBatchMessage(batch)));
}

/**
 * A serialized identity public key (33 bytes, 0x05 prefix, canonical) as a libsignal key;
 * INVALID_ARGUMENT otherwise. Shared by every statement a device signs (gap-declaration.ts).
 */
export function identityPublicKey(identityPublicKeyBytes: Uint8Array): PublicKey {
  if (
    !(identityPublicKeyBytes instanceof Uint8Array) ||
    identityPublicKeyBytes.length !== IDENTITY_PUBLIC_KEY_LENGTH
  ) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `an identity public key is ${IDENTITY_PUBLIC_KEY_LENGTH} bytes`,
    );
  }
  // XEdDSA ignores the top bit of the u-coordinate; refusing it keeps one encoding per key,
  // so a key registered as bytes cannot be presented in a second spelling.
  if ((identityPublicKeyBytes[IDENTITY_PUBLIC_KEY_LENGTH - 1]! & 0x80) !== 0) {
    throw new CustosError('INVALID_ARGUMENT', 'identity public key is not canonically encoded (top bit set)');
  }
  try {
    return PublicKey.deserialize(Uint8Array.from(identityPublicKeyBytes));
  } catch (e) {
    throw new CustosError('INVALID_ARGUMENT', 'identity public key is not a Curve25519 key of type 0x05', {
      cause: e,
    });
  }
}

/**
 * Verifies a batch signature against a serialized identity public key (33 bytes, 0x05
 * prefix). Throws SIGNATURE_INVALID when it does not verify, INVALID_ARGUMENT when the key
 * or batch is malformed. Returns nothing: success is the absence of an error.
 */
export function verifyBatch(
  identityPublicKeyBytes: Uint8Array,
  batch: RecordBatch,
  signature: Uint8Array,
): void {
  const key = identityPublicKey(identityPublicKeyBytes);
  const message = encodeBatchMessage(batch);
  if (!(signature instanceof Uint8Array) || signature.length !== BATCH_SIGNATURE_LENGTH) {
    throw new CustosError('SIGNATURE_INVALID', `batch signature must be ${BATCH_SIGNATURE_LENGTH} bytes`);
  }
  let ok: boolean;
  try {
    ok = key.verify(message, Uint8Array.from(signature));
  } catch (e) {
    throw new CustosError('SIGNATURE_INVALID', 'batch signature does not verify', { cause: e });
  }
  if (!ok) throw new CustosError('SIGNATURE_INVALID', 'batch signature does not verify');
}
