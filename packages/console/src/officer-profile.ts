/**
 * Loading an officer profile folder (docs/ceremony.md §1): the public profile and org file,
 * the officer key file opened with the officer's passphrase, and the bucket keys wrapped to
 * the officer. Before anything is trusted, org.json's delegation and every bucket document are
 * verified against the org signing key whose fingerprint the profile pins.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KdfPolicy } from '@custos/core';
import { unwrapBucketKey, type UnwrappedBucketKey } from './bucket-key-wrap.js';
import { ConsoleError } from './console-error.js';
import { buildDelegationChain, verifyBucketUnderChain } from './key-manager-chain.js';
import { openOfficerKeyFile, type OfficerKeys } from './officer-keys.js';
import {
  fromB64u,
  readProfileFile,
  type OfficerBucketKeysFile,
  type OfficerProfileFile,
  type OrgFile,
} from './profile-files.js';
import { keyFingerprint } from './signing-key.js';

/** A loaded officer profile. */
export interface OfficerProfile {
  readonly dir: string;
  readonly profile: OfficerProfileFile;
  readonly org: OrgFile;
  readonly keys: OfficerKeys;
  /** Bucket ids with a wrap for this officer. */
  readonly bucketIds: readonly string[];
  /** Unwraps one bucket's private key and index key with the officer's key. */
  unwrapBucket(bucketId: string): Promise<UnwrappedBucketKey>;
}

/** Every delegation org.json holds: the current one and those rotations superseded. */
export function orgFileDelegations(org: OrgFile): Uint8Array[] {
  return [org.keyManager.delegation, ...(org.keyManager.previous ?? [])].map(fromB64u);
}

/** Checks org.json against the pinned fingerprint: the signing key, the delegation and every bucket document. */
export function verifyOrgFile(org: OrgFile, pinnedFingerprint: string): void {
  const signing = fromB64u(org.signingPublicKey);
  if (keyFingerprint(signing) !== pinnedFingerprint || org.signingKeyFingerprint !== pinnedFingerprint) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      "org.json's signing key does not match the pinned fingerprint",
    );
  }
  const chain = buildDelegationChain(orgFileDelegations(org), signing);
  for (const b of org.buckets) {
    const { doc } = verifyBucketUnderChain(fromB64u(b.document), chain);
    if (
      doc.org !== org.orgId ||
      doc.bucket !== b.bucketId ||
      Buffer.compare(doc.publicKey, fromB64u(b.publicKey)) !== 0
    ) {
      throw new ConsoleError(
        'PROFILE_INVALID',
        `org.json: bucket ${b.bucketId} does not match its signed document`,
      );
    }
  }
}

/** Loads the officer profile in `dir` and opens its key file with `passphrase`. */
export async function loadOfficerProfile(
  dir: string,
  passphrase: string,
  policy: KdfPolicy = {},
): Promise<OfficerProfile> {
  const profile = readProfileFile<OfficerProfileFile>(join(dir, 'profile.json'), 'custos-officer-profile');
  const org = readProfileFile<OrgFile>(join(dir, 'org.json'), 'custos-org');
  const wraps = readProfileFile<OfficerBucketKeysFile>(
    join(dir, 'bucket-keys.json'),
    'custos-officer-bucket-keys',
  );
  if (
    org.orgId !== profile.orgId ||
    wraps.orgId !== profile.orgId ||
    wraps.officerIndex !== profile.officerIndex
  ) {
    throw new ConsoleError(
      'PROFILE_INVALID',
      `${dir}: profile, org.json and bucket-keys.json name different orgs or officers`,
    );
  }
  verifyOrgFile(org, profile.signingKeyFingerprint);
  const keys = await openOfficerKeyFile(
    readFileSync(join(dir, 'officer-keys.json'), 'utf8'),
    passphrase,
    policy,
  );
  // The key file holds the key-manager key of the ceremony; after a rotation it is a
  // superseded link of the chain (the session fetches this officer's wrap of the new key).
  const chainKeys = buildDelegationChain(orgFileDelegations(org), fromB64u(org.signingPublicKey)).map((l) =>
    Buffer.from(l.keyManager.key).toString('base64url'),
  );
  if (
    keys.index !== profile.officerIndex ||
    !chainKeys.includes(Buffer.from(keys.keyManager.publicKey).toString('base64url'))
  ) {
    throw new ConsoleError(
      'PROFILE_INVALID',
      `${dir}: the key file belongs to another officer or key manager`,
    );
  }
  const byBucket = new Map(wraps.wraps.map((w) => [w.bucketId, w.wrap]));
  return {
    dir,
    profile,
    org,
    keys,
    bucketIds: [...byBucket.keys()],
    async unwrapBucket(bucketId) {
      const wrap = byBucket.get(bucketId);
      if (wrap === undefined)
        throw new ConsoleError('PROFILE_INVALID', `no wrapped key for bucket ${bucketId} in ${dir}`);
      const w = await unwrapBucketKey(fromB64u(wrap), keys.hpkePrivateKey);
      if (w.org !== profile.orgId || w.bucket !== bucketId || w.to !== `officer-${profile.officerIndex}`) {
        throw new ConsoleError('PROFILE_INVALID', `the wrap for bucket ${bucketId} is addressed elsewhere`);
      }
      return w;
    },
  };
}
