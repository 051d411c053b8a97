/**
 * The JSON files a ceremony leaves (docs/ceremony.md §1): the public org file, the admin
 * profile, and an officer's profile and wrapped bucket keys. Bytes are unpadded base64url,
 * times ms since the epoch. Readers check `format` and `version` and the fields they use.
 */
import { readFileSync } from 'node:fs';
import { ConsoleError } from './console-error.js';
import type { RetentionClass } from './defaults.js';

/** Largest profile file read. */
export const MAX_PROFILE_FILE_BYTES = 1024 * 1024;

/** One bucket as org.json lists it. */
export interface OrgFileBucket {
  readonly bucketId: string;
  readonly retentionClass: RetentionClass;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly publicKey: string;
  /** The key manager's signed bucket-key document. */
  readonly document: string;
  /** The bucket keys wrapped to the root archive key; absent once a disposition destroyed them. */
  readonly rootWrap?: string;
}

/** org.json: the organisation's public material. */
export interface OrgFile {
  readonly format: 'custos-org';
  readonly version: 1;
  readonly orgId: string;
  readonly name: string;
  readonly server: string;
  readonly signingPublicKey: string;
  readonly signingKeyFingerprint: string;
  readonly rootArchivePublicKey: string;
  readonly rootArchiveKeyFingerprint: string;
  readonly keyManager: {
    readonly publicKey: string;
    readonly delegation: string;
    readonly notBefore: number;
    readonly notAfter: number;
    /** Delegations of earlier key-manager keys that rotations superseded (docs/keys.md §5). */
    readonly previous?: readonly string[];
  };
  readonly officerQuorum: number;
  readonly officers: readonly { readonly index: number; readonly publicKey: string }[];
  /** Issue time (ms) of the signed officer list `officers` and `officerQuorum` come from; absent: the ceremony's. */
  readonly officerListIssuedAt?: number;
  /**
   * The ceremony's officers and quorum, kept when a later list replaces `officers` (and handed
   * to officers added later): older disposition certificates are checked against the list in
   * force when they were executed (officer-list-history.ts). Absent while `officers` is the
   * ceremony's list.
   */
  readonly ceremonyOfficerList?: {
    readonly quorum: number;
    readonly officers: readonly { readonly index: number; readonly publicKey: string }[];
  };
  /** Issue time (ms) of the signed root-archive-key statement the root key comes from; absent: the ceremony's. */
  readonly rootKeyIssuedAt?: number;
  readonly buckets: readonly OrgFileBucket[];
}

/** admin/profile.json: what the client needs to enrol the first admin device. Secret: 0600. */
export interface AdminProfileFile {
  readonly format: 'custos-admin-profile';
  readonly version: 1;
  readonly server: string;
  readonly orgId: string;
  readonly orgName: string;
  readonly adminUserId: string;
  /** The device pins this at enrolment; the enrolment code carries it too. */
  readonly signingKeyFingerprint: string;
  readonly enrolmentCode: string;
  readonly enrolmentCodeExpiresAt: number;
}

/** officers/officer-k/profile.json: the officer's public identity in the org. */
export interface OfficerProfileFile {
  readonly format: 'custos-officer-profile';
  readonly version: 1;
  readonly server: string;
  readonly orgId: string;
  readonly orgName: string;
  /** The server's 0-based officer index. */
  readonly officerIndex: number;
  /** The officer's share index in every split, officerIndex + 1. */
  readonly shareIndex: number;
  readonly signingKeyFingerprint: string;
  /** The officer public key document registered with the server. */
  readonly publicKey: string;
}

/** officers/officer-k/bucket-keys.json: bucket keys wrapped to this officer. */
export interface OfficerBucketKeysFile {
  readonly format: 'custos-officer-bucket-keys';
  readonly version: 1;
  readonly orgId: string;
  readonly officerIndex: number;
  readonly wraps: readonly { readonly bucketId: string; readonly wrap: string }[];
}

/** Serialises a profile file (indented, final newline). */
export function formatProfileFile(f: object): string {
  return `${JSON.stringify(f, null, 2)}\n`;
}

/** Reads a JSON file of the given `format`; PROFILE_INVALID names the file and what is wrong. */
export function readProfileFile<T extends { format: string }>(path: string, format: T['format']): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConsoleError('PROFILE_INVALID', `cannot read ${path}`, { cause: e });
  }
  if (text.length > MAX_PROFILE_FILE_BYTES) throw new ConsoleError('PROFILE_INVALID', `${path} is too large`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ConsoleError('PROFILE_INVALID', `${path} is not JSON`, { cause: e });
  }
  const o = v as { format?: unknown; version?: unknown } | null;
  if (typeof o !== 'object' || o === null || o.format !== format || o.version !== 1) {
    throw new ConsoleError('PROFILE_INVALID', `${path} is not a version 1 ${format} file`);
  }
  return v as T;
}

/** Decodes an unpadded base64url field. */
export function fromB64u(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
