/**
 * Wrapped bucket keys (docs/ceremony.md §5): a bucket's X25519 private key and its blind-index
 * key, HPKE-sealed (hpke-box.ts) to one recipient — the root archive key or one officer's key.
 *
 *   blob = deterministic CBOR { v: 1, typ: "bucket-key-wrap", org, bkt, to, enc, ct }
 *   ct   = HPKE(info = "custos-bucket-key-wrap-v1",
 *               aad = deterministic CBOR { v, typ, org, bkt, to },
 *               pt = deterministic CBOR { sk: bstr(32), ik: bstr(32) })
 *
 * `to` is "root" or "officer-<index>" (the server's 0-based officer index). Binding org,
 * bucket and recipient into the aad means a blob moved to another bucket or officer fails.
 */
import {
  BlindIndexKey,
  BUCKET_KEY_LENGTH,
  BucketPrivateKey,
  CustosError,
  decodeStrictCbor,
  encodeDeterministicCbor,
  isWellFormedId,
  type BucketPublicKey,
  decodeStrictCborMap,
} from '@custos/core';
import { hpkeOpen, hpkeSeal } from './hpke-box.js';

/** HPKE info of bucket-key wraps. */
export const BUCKET_KEY_WRAP_INFO = 'custos-bucket-key-wrap-v1';
/** Largest encoded wrap accepted (real ones are about 200 bytes; the server allows 4 KiB). */
export const MAX_BUCKET_KEY_WRAP_BYTES = 1024;
const TYP = 'bucket-key-wrap';
const RECIPIENT_PATTERN = /^(root|officer-(0|[1-9][0-9]?))$/;
const FIELDS = ['bkt', 'ct', 'enc', 'org', 'to', 'typ', 'v'];

/** Who a wrap is sealed to: the root archive key or officer `index` (0-based). */
export type WrapRecipient = 'root' | `officer-${number}`;

/** The recipient label of officer `index`. */
export function officerRecipient(index: number): WrapRecipient {
  return `officer-${index}`;
}

/** What a wrap says about itself (public). */
export interface BucketKeyWrapInfo {
  readonly org: string;
  readonly bucket: string;
  readonly to: WrapRecipient;
}

/** An opened wrap: the bucket's private key and index key, behind handles. */
export interface UnwrappedBucketKey extends BucketKeyWrapInfo {
  readonly privateKey: BucketPrivateKey;
  readonly indexKey: BlindIndexKey;
}

function aadOf(w: BucketKeyWrapInfo): Uint8Array {
  return encodeDeterministicCbor({ v: 1, typ: TYP, org: w.org, bkt: w.bucket, to: w.to });
}

/** Seals a bucket's private key and index key bytes to `recipient`. */
export async function wrapBucketKey(
  info: BucketKeyWrapInfo,
  privateKey: BucketPrivateKey,
  indexKeyBytes: Uint8Array,
  recipient: BucketPublicKey,
): Promise<Uint8Array> {
  if (!isWellFormedId(info.org) || !isWellFormedId(info.bucket) || !RECIPIENT_PATTERN.test(info.to)) {
    throw new CustosError('INVALID_ARGUMENT', 'bucket-key wrap: org, bucket or recipient is malformed');
  }
  const sk = await privateKey.exportBytes();
  const pt = encodeDeterministicCbor({ sk, ik: indexKeyBytes });
  try {
    const box = await hpkeSeal(recipient, BUCKET_KEY_WRAP_INFO, aadOf(info), pt);
    return encodeDeterministicCbor({ v: 1, typ: TYP, org: info.org, bkt: info.bucket, to: info.to, ...box });
  } finally {
    sk.fill(0);
    pt.fill(0);
  }
}

/** Parses a wrap's public fields without opening it; MALFORMED_INPUT naming what is wrong. */
export function parseBucketKeyWrap(
  blob: Uint8Array,
): BucketKeyWrapInfo & { enc: Uint8Array; ct: Uint8Array } {
  if (!(blob instanceof Uint8Array) || blob.length > MAX_BUCKET_KEY_WRAP_BYTES) {
    throw new CustosError(
      'MALFORMED_INPUT',
      `bucket-key wrap: must be at most ${MAX_BUCKET_KEY_WRAP_BYTES} bytes`,
    );
  }
  const m = decodeStrictCbor(blob, 'bucket-key wrap', 'MALFORMED_INPUT');
  const bad = (what: string): never => {
    throw new CustosError('MALFORMED_INPUT', `bucket-key wrap: ${what}`);
  };
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m instanceof Uint8Array)
    return bad('not a map');
  const w = m as Record<string, unknown>;
  if (Object.keys(w).sort().join() !== FIELDS.join())
    return bad(`fields must be exactly ${FIELDS.join(', ')}`);
  if (w.v !== 1 || w.typ !== TYP) return bad('not a v1 bucket-key wrap');
  if (!isWellFormedId(w.org)) return bad('"org" is malformed');
  if (!isWellFormedId(w.bkt)) return bad('"bkt" is malformed');
  if (typeof w.to !== 'string' || !RECIPIENT_PATTERN.test(w.to)) return bad('"to" is malformed');
  if (!(w.enc instanceof Uint8Array) || w.enc.length !== BUCKET_KEY_LENGTH)
    return bad('"enc" is not 32 bytes');
  if (!(w.ct instanceof Uint8Array) || w.ct.length < 16) return bad('"ct" is too short');
  return { org: w.org, bucket: w.bkt, to: w.to as WrapRecipient, enc: w.enc, ct: w.ct };
}

/** Opens a wrap to its raw `{ sk, ik }` bytes; the caller MUST wipe both. DECRYPTION_FAILED on any mismatch. */
async function openWrap(
  blob: Uint8Array,
  recipientKey: BucketPrivateKey,
): Promise<BucketKeyWrapInfo & { sk: Uint8Array; ik: Uint8Array }> {
  const w = parseBucketKeyWrap(blob);
  const pt = await hpkeOpen(recipientKey, BUCKET_KEY_WRAP_INFO, aadOf(w), w);
  try {
    const m = decodeStrictCborMap(pt, 'bucket-key wrap plaintext', 'MALFORMED_INPUT');
    const { sk, ik } = m;
    if (!(sk instanceof Uint8Array) || !(ik instanceof Uint8Array) || Object.keys(m).length !== 2) {
      throw new CustosError('MALFORMED_INPUT', 'bucket-key wrap: plaintext must be { sk, ik }');
    }
    return { org: w.org, bucket: w.bucket, to: w.to, sk: Uint8Array.from(sk), ik: Uint8Array.from(ik) };
  } finally {
    pt.fill(0);
  }
}

/** Opens a wrap with the recipient's X25519 private key; DECRYPTION_FAILED on any mismatch. */
export async function unwrapBucketKey(
  blob: Uint8Array,
  recipientKey: BucketPrivateKey,
): Promise<UnwrappedBucketKey> {
  const { sk, ik, ...info } = await openWrap(blob, recipientKey);
  try {
    return {
      ...info,
      privateKey: await BucketPrivateKey.fromBytes(sk),
      indexKey: BlindIndexKey.fromBytes(ik),
    };
  } finally {
    sk.fill(0);
    ik.fill(0);
  }
}

/**
 * Opens a wrap and returns only the bucket's raw 32-byte index key, to seal it to a device
 * (index-key-grants.ts). MUST NOT be logged; the caller wipes it after sealing.
 */
export async function unwrapIndexKeyBytes(
  blob: Uint8Array,
  recipientKey: BucketPrivateKey,
): Promise<BucketKeyWrapInfo & { indexKey: Uint8Array }> {
  const { sk, ik, ...info } = await openWrap(blob, recipientKey);
  sk.fill(0);
  return { ...info, indexKey: ik };
}
