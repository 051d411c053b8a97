/**
 * Rotating the root archive key (`custos org unlock --rotate-root`; docs/keys.md §6,
 * docs/officers.md §5). A quorum recovers the org signing key and the current root archive key;
 * the command makes a new root key pair, splits it m-of-n to the current officers (share files
 * under `--out`, one passphrase per officer), opens every live bucket's root wrap with the old
 * root (checked against the bucket's signed public key), wraps it to the new root, wraps the
 * current key-manager key to the new root when the server holds its wraps, and registers a
 * statement signed by the org signing key with all the wraps in one request
 * (POST /v1/orgs/:orgId/root-archive-key/rotations). The server overwrites the old root wraps.
 *
 * Resumable: `--out` holds `root-rotation.pending.json` (the new root private key HPKE-sealed to
 * the running officer's key) until the run completes; a rerun with the same `--out` reuses that
 * key, rewrites the shares only if they were not all written, re-signs the statement (its time
 * must be current) and skips the server step when the server already names the new key. The
 * pending file is wiped at the end; `--out` then holds the new shares and org.json.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  BucketPrivateKey,
  sealShareFile,
  splitSecret,
  type BucketPublicKey,
  type SealShareOptions,
  sealRootKeyStatement,
} from '@custos/core';
import { unwrapIndexKeyBytes, wrapBucketKey } from './bucket-key-wrap.js';
import { b64u } from './ceremony-api.js';
import { ceremonyLayout } from './ceremony-layout.js';
import { ConsoleError } from './console-error.js';
import { hpkeOpen, hpkeSeal, x25519PublicKeyOf } from './hpke-box.js';
import { wrapKeyManagerKey } from './key-manager-wrap.js';
import type { OfficerSession } from './officer-session.js';
import { exists, wipeFile, writePrivateFile } from './private-files.js';
import { formatProfileFile, fromB64u, readProfileFile, type OrgFile } from './profile-files.js';
import { keyFingerprint } from './signing-key.js';
import { unwrapWithRoot, type RootKeys } from './unlock-root.js';

const PENDING_FILE = 'root-rotation.pending.json';
const PENDING_FORMAT = 'custos-root-rotation-pending';
const PENDING_INFO = 'custos-root-rotation-pending-v1';
/** Share files sealed at once (each scrypt takes 128 MiB). */
const SEAL_CONCURRENCY = 2;

/** Options of {@link rotateRootKey}. */
export interface RootRotationOptions {
  /** Folder for the new root shares and org.json; must not exist, or hold an unfinished rotation. */
  readonly out: string;
  /** The passphrase of each current officer, by officer index; called only when shares are (re)written. */
  readonly passphrases: () => Promise<ReadonlyMap<number, string>>;
  readonly now: number;
  readonly kdf?: SealShareOptions;
  readonly progress?: (message: string) => void;
  /** Tests: stop after this step, as an interruption there would. */
  readonly stopAfter?: 'shares';
}

/** What a rotation did. */
export interface RootKeyRotated {
  readonly rootArchiveKeyFingerprint: string;
  readonly previousFingerprint: string;
  /** Buckets whose root wrap the server replaced (empty when a rerun found it done). */
  readonly rewrapped: readonly string[];
  readonly keyManagerRewrapped: boolean;
  /** Officers (0-based) who got a share of the new root key, and the quorum. */
  readonly officers: readonly number[];
  readonly threshold: number;
  /** True when this run continued an interrupted one. */
  readonly resumed: boolean;
  readonly out: string;
}

interface Pending {
  readonly format: typeof PENDING_FORMAT;
  readonly version: 1;
  readonly orgId: string;
  readonly previousKey: string;
  readonly publicKey: string;
  readonly enc: string;
  readonly ct: string;
  readonly sharesWritten: boolean;
}

const aadOf = (orgId: string, publicKey: string): Uint8Array =>
  new TextEncoder().encode(`${orgId}\0${publicKey}`);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

/** The new root key: from the unfinished run's pending file, or fresh (and written down first). */
async function newRootKey(
  session: OfficerSession,
  out: string,
  previousKey: string,
): Promise<{ pending: Pending; privateKey: BucketPrivateKey; publicKey: BucketPublicKey; resumed: boolean }> {
  const path = join(out, PENDING_FILE);
  const keys = session.officer.keys;
  if (exists(path)) {
    const p = readProfileFile<Pending>(path, PENDING_FORMAT);
    if (p.orgId !== session.orgId || p.previousKey !== previousKey)
      throw new ConsoleError(
        'STAGING_MISMATCH',
        `${path} belongs to another org or root key: choose another --out`,
      );
    const sk = await hpkeOpen(keys.hpkePrivateKey, PENDING_INFO, aadOf(p.orgId, p.publicKey), {
      enc: fromB64u(p.enc),
      ct: fromB64u(p.ct),
    }).catch((e: unknown) => {
      throw new ConsoleError(
        'STAGING_MISMATCH',
        `${path} was started by another officer: run it from their profile`,
        {
          cause: e,
        },
      );
    });
    try {
      const publicKey = await x25519PublicKeyOf(sk);
      if (b64u(publicKey.toBytes()) !== p.publicKey)
        throw new ConsoleError('STAGING_MISMATCH', `${path} does not hold the key it names`);
      return { pending: p, privateKey: await BucketPrivateKey.fromBytes(sk), publicKey, resumed: true };
    } finally {
      sk.fill(0);
    }
  }
  if (exists(out)) throw new ConsoleError('OUT_EXISTS', `${out} already exists: choose another --out`);
  const sk = new Uint8Array(randomBytes(32));
  try {
    const publicKey = await x25519PublicKeyOf(sk);
    const pk = b64u(publicKey.toBytes());
    const box = await hpkeSeal(keys.hpkePublicKey, PENDING_INFO, aadOf(session.orgId, pk), sk);
    const pending: Pending = {
      format: PENDING_FORMAT,
      version: 1,
      orgId: session.orgId,
      previousKey,
      publicKey: pk,
      enc: b64u(box.enc),
      ct: b64u(box.ct),
      sharesWritten: false,
    };
    writePrivateFile(path, formatProfileFile(pending));
    return { pending, privateKey: await BucketPrivateKey.fromBytes(sk), publicKey, resumed: false };
  } finally {
    sk.fill(0);
  }
}

/** A fresh m-of-n split of the new root key, each share sealed under its officer's passphrase. */
async function writeRootShares(
  session: OfficerSession,
  key: BucketPrivateKey,
  publicKey: BucketPublicKey,
  officers: readonly number[],
  threshold: number,
  o: RootRotationOptions,
): Promise<void> {
  const passphrases = await o.passphrases();
  const missing = officers.filter((i) => (passphrases.get(i) ?? '').length === 0);
  if (missing.length > 0) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      `a passphrase is needed for each officer (missing: officer ${missing.map((i) => i + 1).join(', ')})`,
    );
  }
  const layout = ceremonyLayout(o.out);
  const secret = await key.exportBytes();
  const shares = await splitSecret(secret, officers.length, threshold).finally(() => secret.fill(0));
  const meta = {
    orgId: session.orgId,
    secretKind: 'org-root-archive-key' as const,
    publicKeyFingerprint: keyFingerprint(publicKey.toBytes()),
  };
  for (let i = 0; i < shares.length; i += SEAL_CONCURRENCY) {
    await Promise.all(
      shares.slice(i, i + SEAL_CONCURRENCY).map(async (share, j) => {
        const officer = officers[i + j]!;
        const text = await sealShareFile(share, meta, passphrases.get(officer)!, o.kdf ?? {});
        share.share.fill(0);
        writePrivateFile(layout.shareFile(officer, 'org-root-archive-key'), text);
        o.progress?.(`sealed officer ${officer + 1}'s share of the new root archive key`);
      }),
    );
  }
}

/** Every live bucket's key, opened from its old root wrap and wrapped to the new root. */
async function rewrapBuckets(
  session: OfficerSession,
  root: RootKeys,
  buckets: readonly string[],
  newRoot: BucketPublicKey,
): Promise<{ bucketId: string; blob: string }[]> {
  const signed = new Map((await session.serverBuckets()).map((b) => [b.bucket, b.publicKey]));
  const org = session.officer.org;
  const wraps: { bucketId: string; blob: string }[] = [];
  for (const bucket of buckets) {
    const id = encodeURIComponent(bucket);
    const listed = await session.call('GET', `/v1/orgs/${session.orgId}/buckets/${id}/officer-wraps`);
    const items = Array.isArray(listed.items)
      ? (listed.items as { recipient?: unknown; blob?: unknown }[])
      : [];
    const old =
      items.find((i) => i.recipient === 'root')?.blob ??
      org.buckets.find((b) => b.bucketId === bucket)?.rootWrap;
    const pk = signed.get(bucket);
    if (typeof old !== 'string' || pk === undefined)
      throw new ConsoleError(
        'BUCKET_INVALID',
        `bucket ${bucket}: no root wrap or signed key to re-wrap from`,
      );
    const opened = await unwrapWithRoot(root, fromB64u(old));
    const { indexKey } = await unwrapIndexKeyBytes(fromB64u(old), root.rootArchiveKey!);
    try {
      const sk = await opened.privateKey.exportBytes();
      const pub = await x25519PublicKeyOf(sk);
      sk.fill(0);
      if (opened.bucket !== bucket || !same(pub.toBytes(), pk))
        throw new ConsoleError(
          'BUCKET_INVALID',
          `the root wrap of bucket ${bucket} does not hold its signed key`,
        );
      const blob = await wrapBucketKey(
        { org: session.orgId, bucket, to: 'root' },
        opened.privateKey,
        indexKey,
        newRoot,
      );
      wraps.push({ bucketId: bucket, blob: b64u(blob) });
    } finally {
      indexKey.fill(0);
    }
  }
  return wraps;
}

/** Writes the server's current root wraps into org.json (running profile and `out`) after adopting the statement. */
async function finish(session: OfficerSession, out: string): Promise<void> {
  const dir = session.dir;
  await session.refreshRootKey();
  const org = readProfileFile<OrgFile>(join(dir, 'org.json'), 'custos-org');
  const buckets = [];
  for (const b of org.buckets) {
    const listed = await session.call(
      'GET',
      `/v1/orgs/${session.orgId}/buckets/${encodeURIComponent(b.bucketId)}/officer-wraps`,
    );
    const items = Array.isArray(listed.items)
      ? (listed.items as { recipient?: unknown; blob?: unknown }[])
      : [];
    const root = items.find((i) => i.recipient === 'root')?.blob;
    buckets.push(typeof root === 'string' ? { ...b, rootWrap: root } : b);
  }
  const next: OrgFile = { ...org, buckets };
  writePrivateFile(join(dir, 'org.json'), formatProfileFile(next));
  writePrivateFile(ceremonyLayout(out).orgFile, formatProfileFile(next));
}

/** Rotates the org's root archive key; see the file comment. */
export async function rotateRootKey(
  session: OfficerSession,
  root: RootKeys,
  o: RootRotationOptions,
): Promise<RootKeyRotated> {
  const org = session.officer.org;
  const { signingKey, rootArchiveKey, rootArchivePublicKey } = root;
  if (signingKey === undefined || rootArchiveKey === undefined || rootArchivePublicKey === undefined) {
    throw new ConsoleError(
      'INVALID_OPTIONS',
      'rotating the root needs the org signing key and the root archive key: give share folders',
    );
  }
  if (
    root.orgId !== session.orgId ||
    keyFingerprint(signingKey.publicKey) !== session.officer.profile.signingKeyFingerprint
  )
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      "the shares recover another org's keys than this profile pins",
    );
  const previousKey = b64u(rootArchivePublicKey.toBytes());
  const say = o.progress ?? ((): void => undefined);
  const state = await session.call('GET', `/v1/orgs/${session.orgId}/root-archive-key`);
  const serverKey = typeof state.rootArchivePublicKey === 'string' ? state.rootArchivePublicKey : '';
  const pendingPath = join(o.out, PENDING_FILE);
  // A rerun after the server took the new key: the profile may have adopted it already.
  const done =
    exists(pendingPath) && readProfileFile<Pending>(pendingPath, PENDING_FORMAT).publicKey === serverKey;
  if (
    !done &&
    (previousKey !== serverKey ||
      keyFingerprint(rootArchivePublicKey.toBytes()) !== org.rootArchiveKeyFingerprint)
  ) {
    throw new ConsoleError(
      'FINGERPRINT_MISMATCH',
      'the shares recover another root archive key than the current one (rotated since? use the shares of the last rotation)',
    );
  }
  const next = await newRootKey(
    session,
    o.out,
    done ? readProfileFile<Pending>(pendingPath, PENDING_FORMAT).previousKey : previousKey,
  );
  const officers = org.officers.map((x) => x.index);
  const threshold = Math.min(org.officerQuorum, officers.length);
  const result = (rewrapped: string[], km: boolean): RootKeyRotated => ({
    rootArchiveKeyFingerprint: keyFingerprint(next.publicKey.toBytes()),
    previousFingerprint: keyFingerprint(fromB64u(next.pending.previousKey)),
    rewrapped,
    keyManagerRewrapped: km,
    officers,
    threshold,
    resumed: next.resumed,
    out: o.out,
  });
  if (!next.pending.sharesWritten) {
    await writeRootShares(session, next.privateKey, next.publicKey, officers, threshold, o);
    writePrivateFile(pendingPath, formatProfileFile({ ...next.pending, sharesWritten: true }));
  } else say('the new root shares were written by the interrupted run: kept');
  if (o.stopAfter === 'shares') return result([], false);
  let rewrapped: string[] = [];
  let km = false;
  if (!done) {
    const buckets = Array.isArray(state.buckets) ? (state.buckets as string[]) : [];
    const wraps = await rewrapBuckets(session, root, buckets, next.publicKey);
    say(`${wraps.length} bucket keys re-wrapped to the new root`);
    let keyManagerWrap: string | undefined;
    if (state.keyManagerWrap === true) {
      const key = await session.keyManagerKey();
      const info = { org: session.orgId, to: 'root', publicKey: key.publicKey };
      keyManagerWrap = b64u(await wrapKeyManagerKey(key, info, next.publicKey));
      km = true;
    }
    const statement = sealRootKeyStatement(
      {
        org: session.orgId,
        publicKey: next.publicKey.toBytes(),
        previous: rootArchivePublicKey.toBytes(),
        issuedAt: o.now,
      },
      signingKey,
    );
    const r = await session.call('POST', `/v1/orgs/${session.orgId}/root-archive-key/rotations`, {
      statement: b64u(statement),
      wraps,
      ...(keyManagerWrap === undefined ? {} : { keyManagerWrap }),
    });
    if (r.rootArchivePublicKey !== next.pending.publicKey)
      throw new ConsoleError(
        'SERVER_REFUSED',
        'POST root-archive-key/rotations: the server kept another root key',
      );
    rewrapped = wraps.map((w) => w.bucketId);
    say('new root registered; the old root wraps on the server are replaced');
  } else say('the server already holds the new root: finishing');
  await finish(session, o.out);
  wipeFile(pendingPath);
  return result(rewrapped, km);
}
