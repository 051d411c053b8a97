/**
 * Where the ceremony writes (docs/ceremony.md §1). Under `--out DIR`:
 *
 *   org.json                                   public material: keys, delegation, bucket documents, root wraps
 *   admin/profile.json                         the first admin's profile (server, org, fingerprint, enrolment code)
 *   officers/officer-<k>/profile.json          officer k's profile (public)
 *   officers/officer-<k>/officer-keys.json     officer k's private keys, under their passphrase
 *   officers/officer-<k>/bucket-keys.json      bucket private keys wrapped to officer k
 *   officers/officer-<k>/org.json              a copy of org.json, so the folder stands alone
 *   shares/officer-<k>/<secret kind>.share.json  officer k's share of each org secret, under their passphrase
 *
 * k is the share index, 1..n; the server numbers the same officer k − 1. Folders are 0700,
 * files 0600.
 */
import { join } from 'node:path';
import type { ShareSecretKind } from '@custos/core';

/** The secret kinds split at the ceremony, in this order. */
export const CEREMONY_SECRET_KINDS: readonly ShareSecretKind[] = [
  'org-signing-key',
  'org-root-archive-key',
  'org-index-secret',
];

/** Paths of a ceremony output tree rooted at `root`. */
export interface CeremonyLayout {
  readonly root: string;
  readonly orgFile: string;
  readonly adminDir: string;
  readonly adminProfile: string;
  officerDir(index: number): string;
  officerProfile(index: number): string;
  officerKeyFile(index: number): string;
  officerBucketKeys(index: number): string;
  officerOrgFile(index: number): string;
  shareDir(index: number): string;
  shareFile(index: number, kind: ShareSecretKind): string;
}

/** The layout under `root`; `index` is the server's 0-based officer index. */
export function ceremonyLayout(root: string): CeremonyLayout {
  const officerDir = (i: number): string => join(root, 'officers', `officer-${i + 1}`);
  const shareDir = (i: number): string => join(root, 'shares', `officer-${i + 1}`);
  return {
    root,
    orgFile: join(root, 'org.json'),
    adminDir: join(root, 'admin'),
    adminProfile: join(root, 'admin', 'profile.json'),
    officerDir,
    officerProfile: (i) => join(officerDir(i), 'profile.json'),
    officerKeyFile: (i) => join(officerDir(i), 'officer-keys.json'),
    officerBucketKeys: (i) => join(officerDir(i), 'bucket-keys.json'),
    officerOrgFile: (i) => join(officerDir(i), 'org.json'),
    shareDir,
    shareFile: (i, kind) => join(shareDir(i), `${kind}.share.json`),
  };
}
