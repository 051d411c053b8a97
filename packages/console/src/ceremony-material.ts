/**
 * The ceremony's local material once the org id is known (docs/ceremony.md §2–§5): the
 * shares of each org secret sealed under each officer's passphrase, the first bucket keys
 * (documents signed by the key manager, private halves wrapped to the root and to every
 * officer), org.json and the officer profiles. Everything is written under the staging tree.
 */
import {
  BucketPublicKey,
  deriveBucketIndexKeyBytes,
  generateBucketKeyPair,
  sealShareFile,
  splitSecret,
  type KeyShare,
  type ArchivePolicyName,
  type SealShareOptions,
  type ShareSecretKind,
  sealBucketKeyDocument,
} from '@custos/core';
import { ceremonyBuckets } from './bucket-periods.js';
import { officerRecipient, wrapBucketKey } from './bucket-key-wrap.js';
import { b64u, type CreateOrgRequest } from './ceremony-api.js';
import { CEREMONY_SECRET_KINDS, type CeremonyLayout } from './ceremony-layout.js';
import { decodeOfficerPublicKey } from './officer-keys.js';
import type { OrgSecrets } from './org-secrets.js';
import { writePrivateFile } from './private-files.js';
import {
  formatProfileFile,
  fromB64u,
  type OfficerBucketKeysFile,
  type OfficerProfileFile,
  type OrgFile,
  type OrgFileBucket,
} from './profile-files.js';
import { keyFingerprint } from './signing-key.js';

/** Share files sealed at once: each scrypt takes 128 MiB, and officer machines are laptops. */
const SHARE_SEAL_CONCURRENCY = 2;

/** What the material step needs. */
export interface MaterialInput {
  readonly layout: CeremonyLayout;
  readonly orgId: string;
  readonly server: string;
  readonly request: CreateOrgRequest;
  readonly signingKeyFingerprint: string;
  readonly startedAt: number;
  readonly threshold: number;
  readonly secrets: OrgSecrets;
  readonly passphrases: readonly string[];
  readonly kdf: SealShareOptions;
  readonly progress: (message: string) => void;
  /** `none`: the org does not archive, so the ceremony makes no bucket keys. */
  readonly archivePolicy: ArchivePolicyName;
}

async function inBatches<T>(items: readonly T[], size: number, run: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

/** Splits each org secret and writes every officer's sealed share files. */
async function writeShares(m: MaterialInput): Promise<void> {
  const n = m.request.officers.length;
  const rootSecret = await m.secrets.rootArchivePrivateKey.exportBytes();
  const signingSeed = m.secrets.signingKey.exportSeed();
  const secretOf: Record<ShareSecretKind, { bytes: Uint8Array; fingerprint: string | null }> = {
    'org-signing-key': { bytes: signingSeed, fingerprint: m.signingKeyFingerprint },
    'org-root-archive-key': {
      bytes: rootSecret,
      fingerprint: keyFingerprint(m.secrets.rootArchivePublicKey.toBytes()),
    },
    'org-index-secret': { bytes: m.secrets.indexSecret, fingerprint: null },
  };
  const jobs: { officer: number; kind: ShareSecretKind; share: KeyShare }[] = [];
  try {
    for (const kind of CEREMONY_SECRET_KINDS) {
      const shares = await splitSecret(secretOf[kind].bytes, n, m.threshold);
      shares.forEach((share, officer) => jobs.push({ officer, kind, share }));
    }
  } finally {
    rootSecret.fill(0);
    signingSeed.fill(0);
  }
  await inBatches(jobs, SHARE_SEAL_CONCURRENCY, async ({ officer, kind, share }) => {
    const text = await sealShareFile(
      share,
      { orgId: m.orgId, secretKind: kind, publicKeyFingerprint: secretOf[kind].fingerprint },
      m.passphrases[officer]!,
      m.kdf,
    );
    share.share.fill(0);
    writePrivateFile(m.layout.shareFile(officer, kind), text);
    m.progress(`sealed officer ${officer + 1}'s share of the ${kind.replace(/-/g, ' ')}`);
  });
}

/** Generates the first bucket keys, signs their documents and wraps their private halves. */
async function makeBuckets(
  m: MaterialInput,
): Promise<{ buckets: OrgFileBucket[]; wraps: { bucketId: string; wrap: string }[][] }> {
  const officerKeys = await Promise.all(
    m.request.officers.map(async (o) =>
      BucketPublicKey.fromBytes(decodeOfficerPublicKey(fromB64u(o.publicKey)).hpke),
    ),
  );
  const wraps: { bucketId: string; wrap: string }[][] = officerKeys.map(() => []);
  const buckets: OrgFileBucket[] = [];
  for (const plan of ceremonyBuckets(m.startedAt)) {
    const pair = await generateBucketKeyPair();
    const publicKey = pair.publicKey.toBytes();
    const document = sealBucketKeyDocument(
      {
        org: m.orgId,
        bucket: plan.bucketId,
        retentionClass: plan.retentionClass,
        period: plan.period,
        notBefore: plan.notBefore,
        notAfter: plan.notAfter,
        publicKey,
      },
      m.secrets.keyManager,
    );
    const indexKey = deriveBucketIndexKeyBytes(m.secrets.indexSecret, plan.bucketId);
    try {
      const info = { org: m.orgId, bucket: plan.bucketId } as const;
      const rootWrap = await wrapBucketKey(
        { ...info, to: 'root' },
        pair.privateKey,
        indexKey,
        m.secrets.rootArchivePublicKey,
      );
      for (const [i, key] of officerKeys.entries()) {
        const wrap = await wrapBucketKey(
          { ...info, to: officerRecipient(i) },
          pair.privateKey,
          indexKey,
          key,
        );
        wraps[i]!.push({ bucketId: plan.bucketId, wrap: b64u(wrap) });
      }
      buckets.push({
        bucketId: plan.bucketId,
        retentionClass: plan.retentionClass,
        period: plan.period,
        notBefore: plan.notBefore,
        notAfter: plan.notAfter,
        publicKey: b64u(publicKey),
        document: b64u(document),
        rootWrap: b64u(rootWrap),
      });
    } finally {
      indexKey.fill(0);
    }
    m.progress(
      `bucket ${plan.bucketId}: key signed by the key manager, wrapped to the root and ${officerKeys.length} officers`,
    );
  }
  return { buckets, wraps };
}

/** Writes shares, bucket keys, org.json and the officer profiles; returns org.json's content. */
export async function writeCeremonyMaterial(m: MaterialInput): Promise<OrgFile> {
  await writeShares(m);
  const { buckets, wraps } =
    m.archivePolicy === 'none'
      ? { buckets: [], wraps: m.request.officers.map(() => []) }
      : await makeBuckets(m);
  const r = m.request;
  const org: OrgFile = {
    format: 'custos-org',
    version: 1,
    orgId: m.orgId,
    name: r.name,
    server: m.server,
    signingPublicKey: r.signingPublicKey,
    signingKeyFingerprint: m.signingKeyFingerprint,
    rootArchivePublicKey: r.rootArchivePublicKey,
    rootArchiveKeyFingerprint: keyFingerprint(fromB64u(r.rootArchivePublicKey)),
    keyManager: { publicKey: b64u(m.secrets.keyManager.publicKey), ...r.keyManager },
    officerQuorum: r.officerQuorum,
    officers: r.officers.map((o, index) => ({ index, publicKey: o.publicKey })),
    buckets,
  };
  const orgText = formatProfileFile(org);
  writePrivateFile(m.layout.orgFile, orgText);
  for (const [index, o] of r.officers.entries()) {
    const profile: OfficerProfileFile = {
      format: 'custos-officer-profile',
      version: 1,
      server: m.server,
      orgId: m.orgId,
      orgName: r.name,
      officerIndex: index,
      shareIndex: index + 1,
      signingKeyFingerprint: m.signingKeyFingerprint,
      publicKey: o.publicKey,
    };
    const keys: OfficerBucketKeysFile = {
      format: 'custos-officer-bucket-keys',
      version: 1,
      orgId: m.orgId,
      officerIndex: index,
      wraps: wraps[index]!,
    };
    writePrivateFile(m.layout.officerProfile(index), formatProfileFile(profile));
    writePrivateFile(m.layout.officerBucketKeys(index), formatProfileFile(keys));
    writePrivateFile(m.layout.officerOrgFile(index), orgText);
  }
  return org;
}
