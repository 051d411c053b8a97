/** The `--ahead` plan, the raw index-key unwrap used for device grants, and local profile updates. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveBucketIndexKeyBytes,
  generateBucketKeyPair,
  generateIndexSecret,
  isCustosError,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { aheadPlan } from './bucket-generation.js';
import { officerRecipient, unwrapIndexKeyBytes, wrapBucketKey } from './bucket-key-wrap.js';
import { RETENTION_CLASSES } from './defaults.js';
import { recordBuckets, recordDelegation } from './officer-profile-update.js';
import type { OfficerBucketKeysFile, OrgFile } from './profile-files.js';

describe('aheadPlan', () => {
  it('covers every class for the current month and the next N, with adjacent inclusive windows', () => {
    const now = Date.UTC(2026, 10, 17, 12); // 2026-11-17
    const plan = aheadPlan(now, 2);
    expect(plan).toHaveLength(RETENTION_CLASSES.length * 3);
    const std = plan.filter((p) => p.retentionClass === 'standard');
    expect(std.map((p) => p.bucketId)).toEqual(['standard-2026-11', 'standard-2026-12', 'standard-2027-01']);
    expect(std[0]!.notBefore).toBeLessThanOrEqual(now);
    expect(std[0]!.notAfter).toBeGreaterThanOrEqual(now);
    for (let i = 1; i < std.length; i++) expect(std[i]!.notBefore).toBe(std[i - 1]!.notAfter + 1);
    expect(aheadPlan(now, 0)).toHaveLength(RETENTION_CLASSES.length);
  });
});

describe('unwrapIndexKeyBytes', () => {
  it('gives the wrapped index key and refuses another recipient', async () => {
    const bucket = await generateBucketKeyPair();
    const officer = await generateBucketKeyPair();
    const other = await generateBucketKeyPair();
    const ik = deriveBucketIndexKeyBytes(generateIndexSecret(), 'standard-2026-11');
    const blob = await wrapBucketKey(
      { org: 'org-1', bucket: 'standard-2026-11', to: officerRecipient(0) },
      bucket.privateKey,
      ik,
      officer.publicKey,
    );
    const w = await unwrapIndexKeyBytes(blob, officer.privateKey);
    expect(Buffer.from(w.indexKey)).toEqual(Buffer.from(ik));
    expect(w.to).toBe('officer-0');
    const code = await unwrapIndexKeyBytes(blob, other.privateKey).then(
      () => 'opened',
      (e: unknown) => (isCustosError(e) ? e.code : 'other'),
    );
    expect(code).toBe('DECRYPTION_FAILED');
  });
});

describe('recordBuckets / recordDelegation', () => {
  it('adds new buckets and wraps once, and replaces the delegation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-profile-update-'));
    try {
      const org = {
        format: 'custos-org',
        version: 1,
        orgId: 'org-1',
        keyManager: { publicKey: 'k', delegation: 'old', notBefore: 1, notAfter: 2 },
        buckets: [],
      } as unknown as OrgFile;
      const wraps: OfficerBucketKeysFile = {
        format: 'custos-officer-bucket-keys',
        version: 1,
        orgId: 'org-1',
        officerIndex: 0,
        wraps: [],
      };
      writeFileSync(join(dir, 'org.json'), JSON.stringify(org));
      writeFileSync(join(dir, 'bucket-keys.json'), JSON.stringify(wraps));
      const entry = {
        doc: {
          org: 'org-1',
          bucket: 'standard-2027-01',
          retentionClass: 'standard' as const,
          period: '2027-01',
          notBefore: 10,
          notAfter: 20,
          publicKey: new Uint8Array(32),
        },
        document: new Uint8Array([1, 2]),
        rootWrap: new Uint8Array([3]),
        officerWrap: new Uint8Array([4]),
      };
      recordBuckets(dir, [entry]);
      recordBuckets(dir, [entry], { publicKey: 'k', delegation: 'new', notBefore: 1, notAfter: 3 });
      const o = JSON.parse(readFileSync(join(dir, 'org.json'), 'utf8')) as OrgFile;
      const w = JSON.parse(readFileSync(join(dir, 'bucket-keys.json'), 'utf8')) as OfficerBucketKeysFile;
      expect(o.buckets.map((b) => b.bucketId)).toEqual(['standard-2027-01']);
      expect(o.keyManager.delegation).toBe('new');
      expect(w.wraps).toEqual([{ bucketId: 'standard-2027-01', wrap: 'BA' }]);
      recordDelegation(dir, { publicKey: 'k', delegation: 'newer', notBefore: 1, notAfter: 4 });
      expect((JSON.parse(readFileSync(join(dir, 'org.json'), 'utf8')) as OrgFile).keyManager.notAfter).toBe(
        4,
      );
      // After a rotation (previous delegations recorded), a re-issue keeps them.
      recordDelegation(dir, {
        publicKey: 'k2',
        delegation: 'rot',
        notBefore: 1,
        notAfter: 5,
        previous: ['old'],
      });
      recordDelegation(dir, { publicKey: 'k2', delegation: 'reissued', notBefore: 1, notAfter: 6 });
      expect((JSON.parse(readFileSync(join(dir, 'org.json'), 'utf8')) as OrgFile).keyManager).toEqual({
        publicKey: 'k2',
        delegation: 'reissued',
        notBefore: 1,
        notAfter: 6,
        previous: ['old'],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
