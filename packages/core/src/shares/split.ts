/**
 * Shamir m-of-n splitting of org secrets, on the audited `shamir-secret-sharing` package
 * (GF(2^8), random distinct x-coordinates). What this file adds: argument checks, shares that
 * say which split they belong to, and a checksum inside the shared value, because the library
 * itself returns garbage — not an error — when given too few or corrupted shares.
 *
 * Shared value = secret ‖ SHA-256("custos/shares/v1/checksum" ‖ secret)[0..16). Fewer than
 * m shares reveal nothing about it (the checksum is shared like the secret, never stored in
 * the clear); a wrong reconstruction fails the checksum with probability 1 − 2^-128.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { CustosError } from '../errors.js';

/** Largest secret that can be split, in bytes (org keys are 32). */
export const MAX_SECRET_LENGTH = 1024;
/** Most shares in one split (the x-coordinate is one byte, 0 excluded). */
export const MAX_SHARES = 255;
/** Bytes of the checksum appended to the secret before splitting. */
export const SHARE_CHECKSUM_LENGTH = 16;
/** Bytes of a split id (printed as 32 hex digits). */
export const SPLIT_ID_LENGTH = 16;

const CHECKSUM_DOMAIN = 'custos/shares/v1/checksum';
const SPLIT_ID_PATTERN = /^[0-9a-f]{32}$/;

/** One officer's share of a split. `share` is the library's encoding: y-values ‖ x-coordinate. */
export interface KeyShare {
  /** Random id common to all shares of one split (32 lowercase hex digits). */
  readonly splitId: string;
  /** Position of this share in the ceremony, 1..total (which officer holds it). */
  readonly index: number;
  /** Shares needed to recover (m). */
  readonly threshold: number;
  /** Shares made (n). */
  readonly total: number;
  /** Secret shares: MUST NOT be logged. */
  readonly share: Uint8Array;
}

function checksum(secret: Uint8Array): Uint8Array {
  return createHash('sha256')
    .update(CHECKSUM_DOMAIN)
    .update(secret)
    .digest()
    .subarray(0, SHARE_CHECKSUM_LENGTH);
}

function isIntIn(x: unknown, min: number, max: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
}

/** Checks one share's shape (not its cryptographic validity, which only combining can show). */
export function checkKeyShare(s: unknown): KeyShare {
  const bad = (what: string): CustosError => new CustosError('MALFORMED_SHARE', `key share: ${what}`);
  if (typeof s !== 'object' || s === null) throw bad('not an object');
  const { splitId, index, threshold, total, share } = s as Record<string, unknown>;
  if (typeof splitId !== 'string' || !SPLIT_ID_PATTERN.test(splitId))
    throw bad('split id must be 32 hex digits');
  if (!isIntIn(total, 2, MAX_SHARES)) throw bad(`total must be an integer 2..${MAX_SHARES}`);
  if (!isIntIn(threshold, 2, total)) throw bad('threshold must be an integer 2..total');
  if (!isIntIn(index, 1, total)) throw bad('index must be an integer 1..total');
  if (!(share instanceof Uint8Array)) throw bad('share bytes missing');
  const min = 1 + SHARE_CHECKSUM_LENGTH + 1;
  if (share.length < min || share.length > MAX_SECRET_LENGTH + SHARE_CHECKSUM_LENGTH + 1) {
    throw bad('share bytes have an impossible length');
  }
  if (share[share.length - 1] === 0) throw bad('share x-coordinate is zero');
  return { splitId, index, threshold, total, share };
}

/** Splits `secret` into `n` shares of which any `m` recover it (1 < m ≤ n ≤ 255). */
export async function splitSecret(secret: Uint8Array, n: number, m: number): Promise<KeyShare[]> {
  if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > MAX_SECRET_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `secret must be 1..${MAX_SECRET_LENGTH} bytes`);
  }
  if (!isIntIn(n, 2, MAX_SHARES) || !isIntIn(m, 2, n)) {
    throw new CustosError('INVALID_ARGUMENT', `need integers with 1 < m ≤ n ≤ ${MAX_SHARES}`);
  }
  // A plain Uint8Array copy: the library checks `constructor === Uint8Array` (a Buffer fails).
  const value = new Uint8Array(secret.length + SHARE_CHECKSUM_LENGTH);
  value.set(secret);
  value.set(checksum(secret), secret.length);
  try {
    const shares = await split(value, n, m);
    const splitId = randomBytes(SPLIT_ID_LENGTH).toString('hex');
    return shares.map((share, i) => ({ splitId, index: i + 1, threshold: m, total: n, share }));
  } finally {
    value.fill(0);
  }
}

/** What of a share decides whether a set of shares can make a quorum: no share bytes needed. */
export type ShareQuorumFields = Pick<KeyShare, 'splitId' | 'index' | 'threshold' | 'total'>;

/**
 * The refusals a set of shares' fields decide, before any share is read or decrypted:
 * MALFORMED_SHARE for shares of different splits or one index twice, SHARES_INSUFFICIENT for
 * fewer than the threshold. combineShares starts with it; a caller holding only share files'
 * cleartext fields (console unlock) runs it before spending a passphrase KDF on each file.
 */
export function requireQuorum(shares: readonly ShareQuorumFields[]): void {
  if (shares.length === 0) throw new CustosError('SHARES_INSUFFICIENT', 'no shares given');
  const first = shares[0]!;
  const indexes = new Set<number>();
  for (const s of shares) {
    if (s.splitId !== first.splitId || s.threshold !== first.threshold || s.total !== first.total)
      throw new CustosError('MALFORMED_SHARE', 'shares come from different splits');
    if (indexes.has(s.index)) throw new CustosError('MALFORMED_SHARE', `duplicate share (index ${s.index})`);
    indexes.add(s.index);
  }
  if (shares.length < first.threshold) {
    throw new CustosError(
      'SHARES_INSUFFICIENT',
      `${shares.length} share(s) given, ${first.threshold} of ${first.total} needed`,
    );
  }
}

/**
 * Recovers the secret from at least `threshold` shares of one split. Every share given is
 * used, so a corrupted one is detected rather than silently skipped.
 * Throws SHARES_INSUFFICIENT for too few shares or a reconstruction that fails its checksum,
 * MALFORMED_SHARE for mixed splits, duplicates or malformed shares.
 */
export async function combineShares(shares: readonly KeyShare[]): Promise<Uint8Array> {
  if (!Array.isArray(shares)) throw new CustosError('INVALID_ARGUMENT', 'shares must be an array');
  const checked = shares.map(checkKeyShare);
  // What only the share bytes show (their length, the x coordinate in the last byte), then
  // what the fields decide.
  const xs = new Set<number>();
  for (const s of checked) {
    if (s.share.length !== checked[0]!.share.length)
      throw new CustosError('MALFORMED_SHARE', 'shares come from different splits');
    const x = s.share[s.share.length - 1]!;
    if (xs.has(x)) throw new CustosError('MALFORMED_SHARE', `duplicate share (index ${s.index})`);
    xs.add(x);
  }
  requireQuorum(checked);
  let value: Uint8Array;
  try {
    value = await combine(checked.map((s) => new Uint8Array(s.share)));
  } catch (e) {
    throw new CustosError('MALFORMED_SHARE', 'shares could not be combined', { cause: e });
  }
  const secret = value.slice(0, value.length - SHARE_CHECKSUM_LENGTH);
  const ok = timingSafeEqual(checksum(secret), value.subarray(value.length - SHARE_CHECKSUM_LENGTH));
  value.fill(0);
  if (!ok) {
    secret.fill(0);
    throw new CustosError(
      'SHARES_INSUFFICIENT',
      'the recovered secret fails its checksum: a share is corrupt, or fewer shares than the real threshold were given',
    );
  }
  return secret;
}
