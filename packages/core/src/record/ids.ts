/**
 * Branded identifiers of the archive format. Ids are short ASCII strings so that any
 * language reads them as they are; hashes are exactly 32 bytes. Brands stop an org id from
 * being passed where a device id belongs, and a bare byte array from passing as a hash.
 */
import { CustosError } from '../errors.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** An organisation id. */
export type OrgId = Brand<string, 'OrgId'>;
/** A device id (unique within its organisation). */
export type DeviceId = Brand<string, 'DeviceId'>;
/** A bucket id: names one bucket key (retention class and period) of an organisation. */
export type BucketId = Brand<string, 'BucketId'>;
/** SHA-256 of an encoded archive record's exact bytes. */
export type RecordHash = Brand<Uint8Array, 'RecordHash'>;
/** SHA-256 of an encoded wrapped session key's exact bytes: how a record header names its key. */
export type SessionKeyId = Brand<Uint8Array, 'SessionKeyId'>;

/** Largest id length in characters (= bytes, ids are ASCII). */
export const MAX_ID_LENGTH = 64;
/** Length of a record hash and of a session key id. */
export const HASH_LENGTH = 32;

// An id is letters, digits and `._:-`, not starting with `.` or `:`, so UUIDs, ULIDs, slugs
// and the server's base64url ids all fit and no id needs escaping in a path, log or note.
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,63}$/;

/** True when `s` is a well-formed id (any of the kinds above). */
export function isWellFormedId(s: unknown): s is string {
  return typeof s === 'string' && ID_PATTERN.test(s);
}

function id<T extends string>(kind: string, s: string): T {
  if (!isWellFormedId(s)) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `${kind} must be 1–${MAX_ID_LENGTH} characters of A–Z a–z 0–9 . _ : - not starting with . or :`,
    );
  }
  return s as T;
}

/** Checks and brands an organisation id. */
export function orgId(s: string): OrgId {
  return id<OrgId>('org id', s);
}

/** Checks and brands a device id. */
export function deviceId(s: string): DeviceId {
  return id<DeviceId>('device id', s);
}

/** Checks and brands a bucket id. */
export function bucketId(s: string): BucketId {
  return id<BucketId>('bucket id', s);
}

/** Checks and brands a 32-byte record hash (the bytes are copied). */
export function recordHash(bytes: Uint8Array): RecordHash {
  if (!(bytes instanceof Uint8Array) || bytes.length !== HASH_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `a record hash is ${HASH_LENGTH} bytes`);
  }
  return Uint8Array.from(bytes) as RecordHash;
}

/** Checks and brands a 32-byte session key id (the bytes are copied). */
export function sessionKeyId(bytes: Uint8Array): SessionKeyId {
  if (!(bytes instanceof Uint8Array) || bytes.length !== HASH_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `a session key id is ${HASH_LENGTH} bytes`);
  }
  return Uint8Array.from(bytes) as SessionKeyId;
}

/** The previous-record hash of a device's first record: 32 zero bytes (a fresh copy each call). */
export function genesisPrevHash(): RecordHash {
  return new Uint8Array(HASH_LENGTH) as RecordHash;
}

/** Lower-case hex of a hash or id, for messages and vectors (hashes are not secret). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
