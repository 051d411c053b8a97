/**
 * Adding and removing an officer (`custos org officers add|remove`; docs/officers.md §5). A
 * quorum recovers all three org secrets (unlock-root.ts) and:
 *
 * 1. makes a fresh m-of-n' split of each secret for the new officer set and seals each share
 *    under that officer's passphrase (every officer of the new set takes part, as at the
 *    ceremony), written under `--out` in the ceremony's layout (shares/officer-<k>/);
 * 2. for an added officer: generates their key pairs (with the current key-manager key),
 *    seals their key file under their passphrase, and writes their officer profile
 *    (officers/officer-<k>/) with a wrap of every registered bucket, each opened with the
 *    root archive key (the server's root wrap, or org.json's) and checked against the bucket's
 *    signed public key;
 * 3. signs the new officer list (core org-docs/officer-list.ts) with the org signing key and registers it
 *    (PUT /v1/orgs/:orgId/officers), then uploads the added officer's bucket wraps;
 * 4. updates the running officer's org.json (officers, quorum) and writes the new org.json
 *    under `--out` for every other officer.
 *
 * Everything local is written before the server changes, and nothing is sent when any share,
 * passphrase or check fails. Old share files stay valid until destroyed (see the docs).
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  deriveBucketIndexKeyBytes,
  sealOfficerList,
  sealShareFile,
  splitSecret,
  type KeyShare,
  type SealShareOptions,
  type ShareSecretKind,
} from '@custos/core';
import { officerRecipient, wrapBucketKey } from './bucket-key-wrap.js';
import { b64u } from './ceremony-api.js';
import { CEREMONY_SECRET_KINDS, ceremonyLayout, type CeremonyLayout } from './ceremony-layout.js';
import { ConsoleError } from './console-error.js';
import { x25519PublicKeyOf } from './hpke-box.js';
import { encodeOfficerPublicKey, generateOfficerKeys, sealOfficerKeyFile } from './officer-keys.js';
import { keepCeremonyList } from './officer-list-history.js';
import type { OfficerSession } from './officer-session.js';
import { orgKeyManagerOf } from './officer-profile-update.js';
import { exists, writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, type OfficerProfileFile, type OrgFile } from './profile-files.js';
import { keyFingerprint } from './signing-key.js';
import { unwrapWithRoot, type RootKeys } from './unlock-root.js';

/** Share files sealed at once (each scrypt takes 128 MiB). */
const SEAL_CONCURRENCY = 2;

/** Options shared by add and remove. */
export interface OfficerChangeOptions {
  /** Folder for the new share folders, the new org.json and an added officer's profile; must not exist. */
  readonly out: string;
  /** The passphrase of each officer of the NEW set, by officer index: it seals their new shares. */
  readonly passphrases: ReadonlyMap<number, string>;
  /** The quorum m of the new set (default: the current one, or n' when that is smaller). */
  readonly threshold?: number;
  readonly now: number;
  readonly kdf?: SealShareOptions;
  readonly progress?: (message: string) => void;
}

/** What a change did. */
export interface OfficerChangeResult {
  readonly officers: readonly number[];
  readonly threshold: number;
  readonly added?: number;
  readonly removed?: number;
  readonly demoted: readonly string[];
  /** Buckets wrapped to the added officer. */
  readonly wrapped: readonly string[];
  readonly out: string;
}

function requireAll(session: OfficerSession, root: RootKeys): Required<Omit<RootKeys, 'destroy'>> {
  const { signingKey, rootArchiveKey, rootArchivePublicKey, indexSecret } = root;
  if (
    signingKey === undefined ||
    rootArchiveKey === undefined ||
    indexSecret === undefined ||
    rootArchivePublicKey === undefined
  ) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'changing the officers needs all three org secrets: give share folders (org-signing-key, org-root-archive-key, org-index-secret)',
    );
  }
  const org = session.officer.org;
  if (
    root.orgId !== session.orgId ||
    keyFingerprint(signingKey.publicKey) !== session.officer.profile.signingKeyFingerprint ||
    keyFingerprint(rootArchivePublicKey.toBytes()) !== org.rootArchiveKeyFingerprint
  ) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      "the shares recover another org's keys than this profile pins",
    );
  }
  return { orgId: root.orgId, signingKey, rootArchiveKey, rootArchivePublicKey, indexSecret };
}

/** The server's officer indexes must equal org.json's: a stale profile would re-share to the wrong set. */
async function checkServerOfficers(session: OfficerSession): Promise<void> {
  const r = await session.call('GET', `/v1/orgs/${session.orgId}`);
  const server = Array.isArray(r.officers) ? (r.officers as { index?: unknown; publicKey?: unknown }[]) : [];
  const local = session.officer.org.officers;
  const same =
    server.length === local.length &&
    local.every((o) => server.some((s) => s.index === o.index && s.publicKey === o.publicKey));
  if (!same) {
    throw new ConsoleError(
      'PROFILE_INVALID',
      "the server's officer list differs from this profile's org.json: use the org.json of the last officer change",
    );
  }
}

/** Fresh m-of-n' shares of every org secret, sealed under each new officer's passphrase. */
async function writeShares(
  keys: Required<Omit<RootKeys, 'destroy'>>,
  officers: readonly number[],
  threshold: number,
  layout: CeremonyLayout,
  o: OfficerChangeOptions,
): Promise<void> {
  const say = o.progress ?? ((): void => undefined);
  const root = await keys.rootArchiveKey.exportBytes();
  const seed = keys.signingKey.exportSeed();
  const secretOf: Record<ShareSecretKind, { bytes: Uint8Array; fingerprint: string | null }> = {
    'org-signing-key': { bytes: seed, fingerprint: keyFingerprint(keys.signingKey.publicKey) },
    'org-root-archive-key': { bytes: root, fingerprint: keyFingerprint(keys.rootArchivePublicKey.toBytes()) },
    'org-index-secret': { bytes: keys.indexSecret, fingerprint: null },
  };
  const jobs: { officer: number; kind: ShareSecretKind; share: KeyShare }[] = [];
  try {
    for (const kind of CEREMONY_SECRET_KINDS) {
      const shares = await splitSecret(secretOf[kind].bytes, officers.length, threshold);
      shares.forEach((share, i) => jobs.push({ officer: officers[i]!, kind, share }));
    }
  } finally {
    root.fill(0);
    seed.fill(0);
  }
  for (let i = 0; i < jobs.length; i += SEAL_CONCURRENCY) {
    await Promise.all(
      jobs.slice(i, i + SEAL_CONCURRENCY).map(async ({ officer, kind, share }) => {
        const text = await sealShareFile(
          share,
          { orgId: keys.orgId, secretKind: kind, publicKeyFingerprint: secretOf[kind].fingerprint },
          o.passphrases.get(officer)!,
          o.kdf ?? {},
        );
        share.share.fill(0);
        writePrivateFile(layout.shareFile(officer, kind), text);
        say(`sealed officer ${officer + 1}'s new share of the ${kind.replace(/-/g, ' ')}`);
      }),
    );
  }
}

function checkOptions(session: OfficerSession, officers: readonly number[], o: OfficerChangeOptions): number {
  if (exists(o.out)) throw new ConsoleError('OUT_EXISTS', `${o.out} already exists: choose another --out`);
  const threshold = o.threshold ?? Math.min(session.officer.org.officerQuorum, officers.length);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > officers.length)
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `--threshold must be from 1 to ${officers.length} (the new number of officers)`,
    );
  const missing = officers.filter((i) => (o.passphrases.get(i) ?? '').length === 0);
  if (missing.length > 0) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `a passphrase is needed for each officer of the new set (missing: officer ${missing.map((i) => i + 1).join(', ')})`,
    );
  }
  return threshold;
}

/** Registers the signed list, then writes the new org.json to the running profile and under `out`. */
async function register(
  session: OfficerSession,
  keys: Required<Omit<RootKeys, 'destroy'>>,
  officers: OrgFile['officers'],
  threshold: number,
  demote: readonly string[],
  layout: CeremonyLayout,
  now: number,
): Promise<{ demoted: string[]; org: OrgFile }> {
  const list = {
    org: session.orgId,
    quorum: threshold,
    officers: officers.map((o) => ({ index: o.index, publicKey: fromB64u(o.publicKey) })),
    demote,
    issuedAt: now,
  };
  const r = await session.call('PUT', `/v1/orgs/${session.orgId}/officers`, {
    document: b64u(sealOfficerList(list, keys.signingKey)),
  });
  const orgPath = `${session.dir}/org.json`;
  const current = JSON.parse(readFileSync(orgPath, 'utf8')) as OrgFile;
  const chain = (await session.orgKeys()).chain;
  const org: OrgFile = {
    ...keepCeremonyList(current),
    keyManager: orgKeyManagerOf(chain),
    officers,
    officerQuorum: threshold,
    officerListIssuedAt: now,
  };
  writePrivateFile(layout.orgFile, formatProfileFile(org));
  writePrivateFile(orgPath, formatProfileFile(org));
  return { demoted: Array.isArray(r.demoted) ? (r.demoted as string[]) : [], org };
}

/** Adds one officer (the next free index). */
export async function addOfficer(
  session: OfficerSession,
  root: RootKeys,
  o: OfficerChangeOptions,
): Promise<OfficerChangeResult> {
  const keys = requireAll(session, root);
  const org = session.officer.org;
  const index = Math.max(...org.officers.map((x) => x.index)) + 1;
  const officers = [...org.officers.map((x) => x.index), index];
  const threshold = checkOptions(session, officers, o);
  await checkServerOfficers(session);
  const say = o.progress ?? ((): void => undefined);
  const layout = ceremonyLayout(o.out);
  const newKeys = await generateOfficerKeys(index, await session.keyManagerKey());
  const passphrase = o.passphrases.get(index)!;
  writePrivateFile(
    layout.officerKeyFile(index),
    await sealOfficerKeyFile(newKeys, randomBytes(16).toString('hex'), passphrase, o.kdf ?? {}),
  );
  say(`officer ${index + 1}: key pairs generated, key file sealed with their passphrase`);
  // Every registered bucket, wrapped to the new officer from the root wrap.
  const wraps: { bucketId: string; wrap: string }[] = [];
  for (const b of await session.serverBuckets()) {
    const id = encodeURIComponent(b.bucket);
    const listed = await session.call('GET', `/v1/orgs/${session.orgId}/buckets/${id}/officer-wraps`);
    const items = Array.isArray(listed.items)
      ? (listed.items as { recipient?: unknown; blob?: unknown }[])
      : [];
    const rootWrap =
      items.find((i) => i.recipient === 'root')?.blob ??
      org.buckets.find((x) => x.bucketId === b.bucket)?.rootWrap;
    if (typeof rootWrap !== 'string') {
      say(`bucket ${b.bucket}: no root wrap (disposed?); not wrapped to the new officer`);
      continue;
    }
    const opened = await unwrapWithRoot(root, fromB64u(rootWrap));
    const sk = await opened.privateKey.exportBytes();
    const pub = await x25519PublicKeyOf(sk);
    sk.fill(0);
    if (
      opened.bucket !== b.bucket ||
      Buffer.compare(Buffer.from(pub.toBytes()), Buffer.from(b.publicKey)) !== 0
    )
      throw new ConsoleError(
        'BUCKET_INVALID',
        `the root wrap of bucket ${b.bucket} does not hold its signed key`,
      );
    const indexKey = deriveBucketIndexKeyBytes(keys.indexSecret, b.bucket);
    try {
      const wrap = await wrapBucketKey(
        { org: session.orgId, bucket: b.bucket, to: officerRecipient(index) },
        opened.privateKey,
        indexKey,
        newKeys.hpkePublicKey,
      );
      wraps.push({ bucketId: b.bucket, wrap: b64u(wrap) });
    } finally {
      indexKey.fill(0);
    }
  }
  say(`${wraps.length} bucket keys wrapped to officer ${index + 1}`);
  await writeShares(keys, officers, threshold, layout, o);
  const publicKey = b64u(encodeOfficerPublicKey(newKeys));
  const nextOfficers = [...org.officers, { index, publicKey }];
  // Local material first: the new officer's profile exists before the server knows them.
  const profile: OfficerProfileFile = {
    format: 'custos-officer-profile',
    version: 1,
    server: session.officer.profile.server,
    orgId: session.orgId,
    orgName: session.officer.profile.orgName,
    officerIndex: index,
    shareIndex: officers.indexOf(index) + 1,
    signingKeyFingerprint: session.officer.profile.signingKeyFingerprint,
    publicKey,
  };
  writePrivateFile(layout.officerProfile(index), formatProfileFile(profile));
  writePrivateFile(
    layout.officerBucketKeys(index),
    formatProfileFile({
      format: 'custos-officer-bucket-keys',
      version: 1,
      orgId: session.orgId,
      officerIndex: index,
      wraps,
    }),
  );
  const { demoted, org: next } = await register(session, keys, nextOfficers, threshold, [], layout, o.now);
  writePrivateFile(layout.officerOrgFile(index), formatProfileFile(next));
  for (const w of wraps) {
    await session.call(
      'PUT',
      `/v1/orgs/${session.orgId}/buckets/${encodeURIComponent(w.bucketId)}/officer-wraps/${index}`,
      {
        blob: w.wrap,
      },
    );
  }
  say(`officer list registered; ${wraps.length} wraps uploaded for officer ${index + 1}`);
  return { officers, threshold, added: index, demoted, wrapped: wraps.map((w) => w.bucketId), out: o.out };
}

/** Removes officer `index`; `demoteUser`, when given, loses the role officer on the server. */
export async function removeOfficer(
  session: OfficerSession,
  root: RootKeys,
  index: number,
  demoteUser: string | undefined,
  o: OfficerChangeOptions,
): Promise<OfficerChangeResult> {
  const keys = requireAll(session, root);
  const org = session.officer.org;
  if (!org.officers.some((x) => x.index === index))
    throw new ConsoleError('INVALID_OPTIONS', `officer ${index + 1} is not an officer of this org`);
  const remaining = org.officers.filter((x) => x.index !== index);
  if (remaining.length === 0) throw new ConsoleError('INVALID_OPTIONS', 'the last officer cannot be removed');
  const officers = remaining.map((x) => x.index);
  const threshold = checkOptions(session, officers, o);
  await checkServerOfficers(session);
  const layout = ceremonyLayout(o.out);
  await writeShares(keys, officers, threshold, layout, o);
  const { demoted } = await register(
    session,
    keys,
    remaining,
    threshold,
    demoteUser === undefined ? [] : [demoteUser],
    layout,
    o.now,
  );
  (o.progress ?? ((): void => undefined))(`officer list registered without officer ${index + 1}`);
  return { officers, threshold, removed: index, demoted, wrapped: [], out: o.out };
}
