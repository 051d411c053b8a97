/**
 * Keeping an officer profile's public files current after key work: new buckets go into
 * `org.json` (document and root wrap) and this officer's wrap into `bucket-keys.json`, and a
 * re-issued delegation replaces `org.json`'s. Each file is rewritten whole (temporary file,
 * fsync, rename), so a crash leaves the old or the new version, never half of one. Only
 * material already verified against the pinned org key is written.
 */
import { join } from 'node:path';
import { type BucketKeyDocument } from '@custos/core';
import { currentLink, type DelegationLink } from './key-manager-chain.js';
import { writePrivateFile } from './private-files.js';
import {
  formatProfileFile,
  readProfileFile,
  type OfficerBucketKeysFile,
  type OrgFile,
  type OrgFileBucket,
} from './profile-files.js';

const b64u = (u: Uint8Array): string => Buffer.from(u).toString('base64url');

/** A verified bucket to record locally, with its root wrap and this officer's wrap (if any). */
export interface LocalBucketEntry {
  readonly doc: BucketKeyDocument;
  readonly document: Uint8Array;
  readonly rootWrap: Uint8Array;
  readonly officerWrap?: Uint8Array;
}

/** The key-manager fields of org.json. */
export type OrgKeyManager = OrgFile['keyManager'];

/**
 * org.json's key-manager fields for a verified chain (key-manager-chain.ts): the current link,
 * and the superseded ones under `previous`.
 */
export function orgKeyManagerOf(chain: readonly DelegationLink[]): OrgKeyManager {
  const current = currentLink(chain);
  const previous = chain.slice(0, -1).map((l) => b64u(l.delegation));
  return {
    publicKey: b64u(current.keyManager.key),
    delegation: b64u(current.delegation),
    notBefore: current.keyManager.notBefore,
    notAfter: current.keyManager.notAfter,
    ...(previous.length > 0 ? { previous } : {}),
  };
}

/**
 * Replaces org.json's delegation in profile `dir` (callers verified it and that it ends later).
 * A re-issue names no `previous`: the superseded delegations org.json holds stay, or the old
 * key's buckets in org.json would no longer verify after a rotation and a re-issue.
 */
export function recordDelegation(dir: string, keyManager: OrgKeyManager): void {
  const path = join(dir, 'org.json');
  const org = readProfileFile<OrgFile>(path, 'custos-org');
  const previous = keyManager.previous ?? org.keyManager.previous;
  writePrivateFile(
    path,
    formatProfileFile({
      ...org,
      keyManager: { ...keyManager, ...(previous === undefined ? {} : { previous }) },
    }),
  );
}

/**
 * Adds buckets to org.json and this officer's wraps to bucket-keys.json in profile `dir`;
 * ids already present are left alone. `keyManager`, when given and ending later, replaces
 * org.json's delegation (new buckets may lie beyond the old one's window).
 */
export function recordBuckets(
  dir: string,
  entries: readonly LocalBucketEntry[],
  keyManager?: OrgKeyManager,
): void {
  const orgPath = join(dir, 'org.json');
  const wrapsPath = join(dir, 'bucket-keys.json');
  const org = readProfileFile<OrgFile>(orgPath, 'custos-org');
  const wraps = readProfileFile<OfficerBucketKeysFile>(wrapsPath, 'custos-officer-bucket-keys');
  const known = new Set(org.buckets.map((b) => b.bucketId));
  const knownWraps = new Set(wraps.wraps.map((w) => w.bucketId));
  const buckets: OrgFileBucket[] = [...org.buckets];
  const officerWraps = [...wraps.wraps];
  for (const e of entries) {
    if (!known.has(e.doc.bucket)) {
      buckets.push({
        bucketId: e.doc.bucket,
        retentionClass: e.doc.retentionClass,
        period: e.doc.period,
        notBefore: e.doc.notBefore,
        notAfter: e.doc.notAfter,
        publicKey: b64u(e.doc.publicKey),
        document: b64u(e.document),
        rootWrap: b64u(e.rootWrap),
      });
    }
    if (e.officerWrap !== undefined && !knownWraps.has(e.doc.bucket))
      officerWraps.push({ bucketId: e.doc.bucket, wrap: b64u(e.officerWrap) });
  }
  // org.json first: a bucket in org.json without a local wrap is still served by the server.
  // Only a later delegation of the same key replaces the local one: a server serving an older
  // (still valid) delegation must not make the profile's newer buckets fail verification. A
  // chain-derived value (orgKeyManagerOf) always includes the local delegations, so it wins.
  const km =
    keyManager !== undefined &&
    (keyManager.previous !== undefined || keyManager.notAfter > org.keyManager.notAfter)
      ? keyManager
      : org.keyManager;
  writePrivateFile(orgPath, formatProfileFile({ ...org, keyManager: km, buckets }));
  writePrivateFile(wrapsPath, formatProfileFile({ ...wraps, wraps: officerWraps }));
}

/**
 * After a disposition destroyed buckets' keys on the server, deletes this profile's local
 * copies of their wraps: this officer's wrap in bucket-keys.json and the root wrap in
 * org.json (the bucket's document stays: old proofs and listings still verify it). Other
 * officers' machines keep theirs until they delete them (docs/officers.md "Known limits").
 * Rewrites each file whole (temporary file, rename); counts what was removed.
 */
export function forgetBucketKeys(
  dir: string,
  bucketIds: readonly string[],
): { readonly wraps: number; readonly rootWraps: number } {
  const gone = new Set(bucketIds);
  if (gone.size === 0) return { wraps: 0, rootWraps: 0 };
  const orgPath = join(dir, 'org.json');
  const wrapsPath = join(dir, 'bucket-keys.json');
  const org = readProfileFile<OrgFile>(orgPath, 'custos-org');
  const wraps = readProfileFile<OfficerBucketKeysFile>(wrapsPath, 'custos-officer-bucket-keys');
  const kept = wraps.wraps.filter((w) => !gone.has(w.bucketId));
  let rootWraps = 0;
  const buckets = org.buckets.map((b): OrgFileBucket => {
    if (!gone.has(b.bucketId) || b.rootWrap === undefined) return b;
    rootWraps++;
    const { rootWrap: _destroyed, ...rest } = b;
    return rest;
  });
  // bucket-keys.json first: it is what opens with this officer's key alone.
  if (kept.length !== wraps.wraps.length)
    writePrivateFile(wrapsPath, formatProfileFile({ ...wraps, wraps: kept }));
  if (rootWraps > 0) writePrivateFile(orgPath, formatProfileFile({ ...org, buckets }));
  return { wraps: wraps.wraps.length - kept.length, rootWraps };
}
